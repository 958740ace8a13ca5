"""Read a PDF or Word file in a child process with a memory and time limit.

A few compressed kilobytes can unpack to gigabytes (a PDF content stream, a .docx's XML), and PDFium is
native code: a hostile file must cost one skipped file, never the ingest. The child reads the bytes from
stdin, sets its own address-space limit, and writes the lines as JSON (no pickle) on stdout.

    python -m ingest.formats.isolated pdf 1536 120 < notes.pdf
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLACK = 10.0        # seconds the child may take beyond its own deadline (start-up, a page that will not end)


def run(kind: str, data: bytes, memory_mb: int, seconds: float):
    """Lines from the child, or the reason there are none."""
    from ingest.formats.lines import Lines
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run([sys.executable, "-m", "ingest.formats.isolated", kind, str(memory_mb), str(seconds)],
                              input=data, capture_output=True, timeout=seconds + SLACK, env=env)
    except subprocess.TimeoutExpired:
        return f"reading took over {seconds:g} s"
    if done.returncode != 0:
        memory = b"MemoryError" in done.stderr or b"alloc" in done.stderr.lower()
        return (f"needs over {memory_mb} MiB of memory to read (compressed content that unpacks to gigabytes?)"
                if memory or done.returncode < 0 else f"the reader failed (exit {done.returncode})")
    try:
        out = json.loads(done.stdout)
    except ValueError:
        return "the reader failed (no result)"
    if "skip" in out:
        return out["skip"]
    return Lines(out["unit"], out["lines"], [tuple(w) for w in out["where"]], [tuple(g) for g in out["gaps"]])


def _child(kind: str, memory_mb: int, seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, resource.RLIM_INFINITY))
    from ingest import formats
    out = formats.read_here(kind, sys.stdin.buffer.read(), time.monotonic() + seconds)
    if isinstance(out, str):
        json.dump({"skip": out}, sys.stdout)
    else:
        json.dump({"unit": out.unit, "lines": out.lines, "where": out.where, "gaps": out.gaps}, sys.stdout)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
