"""Soak, short: a minute of chat and /ask questions against a launched `iqa ui`, with a re-ingest midway.

bench/soak_bench.py does the work (the full run is 200 questions over ~10 minutes); here it runs 40
extractive questions over 60 s on a real e5-small index of tests/data/notes that it builds itself.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_minute_of_questions_with_a_re_ingest_midway(tmp_path):
    out = tmp_path / "soak.json"
    cmd = [sys.executable, "bench/soak_bench.py", "--questions", "40", "--seconds", "60", "--llm-every", "0",
           "--notes", "tests/data/notes", "--timeout", "240", "--out", str(out)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    # Every question answered: none failed, none turned away, none left hanging.
    counts = (result["answered"], result["failed"], result["rejected"], result["hung"])
    assert counts == (40, 0, 0, 0), result["problems"] + result["rejections"]
    # Memory and descriptors measured on the server after warm-up: a leak per question shows here.
    assert result["rss_mb"]["growth"] < 100, result["rss_mb"]
    assert result["fds"]["end"] - result["fds"]["start"] <= 3, result["fds"]
    # The re-ingest was picked up without a restart, and the password stayed in its file.
    assert result["reingest"]["new_note_found"] and result["after_reingest_answered"] > 0
    assert result["password_exposed"] == []
    assert run.returncode == 0, run.stdout[-3000:]
