"""Warm query latency per retriever over the dev questions, and CLI cold starts.

    python bench/retrieval_bench.py --index /tmp/iqa-bench-index
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, dev_questions, machine, median, p95, save

from rag.engine import Engine
from rag.config import load_settings


def first_output_seconds(args: list[str]) -> float:
    """Seconds from process start to its first byte on stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    proc.stdout.read(1)
    elapsed = time.perf_counter() - t0
    proc.stdout.read()
    proc.wait()
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "iqa-bench-index")
    ap.add_argument("--cold-runs", type=int, default=3)
    args = ap.parse_args()
    engine = Engine(load_settings(index_dir=args.index), log=lambda m: None)
    questions = [q["question"] for q in dev_questions()]
    engine.search(questions[0], 5)                                   # load the embedder once
    result = {"machine": machine(), "chunks": len(engine.store.chunks)}
    for retriever in ("hybrid", "dense", "bm25"):
        times = []
        for q in questions:
            t0 = time.perf_counter()
            engine.search(q, 5, retriever)
            times.append(1000 * (time.perf_counter() - t0))
        result[retriever] = {"p50_ms": median(times), "p95_ms": p95(times)}
        print(f"warm {retriever:<6} over {len(questions)} questions, {len(engine.store.chunks)} chunks: "
              f"p50 {median(times):.1f} ms, p95 {p95(times):.1f} ms")
    iqa = [sys.executable, "-m", "ui.cli"]
    search = [first_output_seconds(iqa + ["search", "ROIAlign vs ROIPool?", "--index", str(args.index)])
              for _ in range(args.cold_runs)]
    ask = [first_output_seconds(iqa + ["ask", "ROIAlign vs ROIPool?", "--index", str(args.index)])
           for _ in range(args.cold_runs)]
    result["cli_cold_search_first_hit_s"] = median(search)
    result["cli_cold_ask_first_token_s"] = median(ask)
    print(f"CLI cold start (median of {args.cold_runs}): `iqa search` to first hit {median(search):.2f}s; "
          f"`iqa ask` to first answer token {median(ask):.2f}s")
    save("retrieval", result)


if __name__ == "__main__":
    main()
