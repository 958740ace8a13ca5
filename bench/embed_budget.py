"""What should a dense vector see? Recall against embedding time for several answer-text budgets.

Builds one shared-corpus index per budget (each costs a full embedding pass, so this is not part of
`make bench`) and scores the dense retriever on the dev questions.

    python bench/embed_budget.py --budgets 0,80,160,320
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import SHARED, machine, save

import rag.retrieve
from eval.questions import load_questions
from eval.run import engine_search, evaluate
from ingest.build import ingest
from rag.engine import Engine
from rag.config import Settings
from rag.embed import make_embedder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="0,80,160,320")
    args = ap.parse_args()
    embedder = make_embedder("e5-small", threads=2)
    questions = load_questions(SHARED / "eval" / "dev_questions.jsonl")
    rows = []
    for budget in [int(b) for b in args.budgets.split(",")]:
        rag.retrieve.DENSE_CHARS = budget
        index = Path(tempfile.mkdtemp(prefix=f"iqa-budget-{budget}-"))
        summary = ingest([SHARED / "corpus"], index, embedder, rebuild=True, log=lambda m: None)
        engine = Engine(Settings(home=index, index_dir=index), embedder=embedder, log=lambda m: None)
        texts = [c.text for c in engine.store.chunks]
        row = {"answer_chars": budget, "embed_s": summary.seconds["embed"]}
        for retriever in ("dense", "hybrid"):
            m = evaluate(engine_search(engine, retriever), questions, texts, retriever, [1, 5, 10])["metrics"]
            row[retriever] = m
        rows.append(row)
        print(f"question + first {budget:>3} answer chars: embed {row['embed_s']:.0f}s; dense R@5 "
              f"{row['dense']['recall@5']:.3f} MRR@10 {row['dense']['mrr@10']:.3f}; hybrid R@5 "
              f"{row['hybrid']['recall@5']:.3f} MRR@10 {row['hybrid']['mrr@10']:.3f}", flush=True)
        shutil.rmtree(index, ignore_errors=True)
    save("embed_budget", {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
