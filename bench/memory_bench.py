"""Peak resident memory of `iqa ask` on an English question (which is translated before searching),
with a separate translation model (before: the 0.5B beside the 1.5B) and with the answer model
translating too (now), measured in one run; the answers are printed so they can be compared.

    python bench/memory_bench.py --index /tmp/iqa-bench-index
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import machine, save

QUESTION = "How does non-maximum suppression remove duplicate boxes?"
VARIANTS = {"separate translator (qwen2.5-coder-0.5b)": "qwen2.5-coder-0.5b", "answer model translates": "answer"}
CHILD = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stdout, end='')")


def peak_and_answer(index: str, translate_model: str) -> tuple[float, dict]:
    """Run `iqa ask --json` in a fresh process; (peak RSS in MB, the JSON answer)."""
    config = Path(tempfile.mkdtemp()) / "config.toml"
    config.write_text(f'translate_model = "{translate_model}"\n')
    env = dict(os.environ, IQA_CONFIG=str(config))
    cmd = [sys.executable, "-c", CHILD, sys.executable, "-m", "ui.cli", "ask", QUESTION, "--index", index, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    peak_kb, _, answer = out.partition("\n")
    return int(peak_kb) / 1024, json.loads(answer)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default=str(Path(tempfile.gettempdir()) / "iqa-bench-index"))
    args = ap.parse_args()
    rows = {}
    for label, spec in VARIANTS.items():
        peak, answer = peak_and_answer(args.index, spec)
        rows[label] = {"peak_rss_mb": round(peak), "searched_as": answer["searched_as"], "answer": answer["answer"],
                       "cited": [c["source"] for c in answer["citations"]]}
        print(f"{label}: peak RSS {peak:.0f} MB\n  searched as: {answer['searched_as']}\n  answer: {answer['answer']}")
    before, now = (rows[k]["peak_rss_mb"] for k in VARIANTS)
    print(f"peak RSS saved: {before - now} MB ({now / before:.2f}x); same answer: "
          f"{len({r['answer'] for r in rows.values()}) == 1}")
    save("memory", {"machine": machine(), "question": QUESTION, "rows": rows})


if __name__ == "__main__":
    main()
