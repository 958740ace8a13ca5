"""FAISS against Milvus Lite on the shared corpus, in one run: ingest time, query latency, dev-question recall.

The corpus is embedded once with the real e5-small: the FAISS ingest embeds it, the Milvus ingest gets the
same vectors from a memo, so each ingest's "index" time is its store's own cost and recall differs only by
the store. Both engines answer with query translation off (no answer model is loaded). Dense and BM25
latency is the store's search alone (query vectors made beforehand); hybrid is `Engine.search`, whose
64-entry query-vector cache holds fewer than the 90 questions, so it includes embedding each question.
Recall follows ../shared/eval/README.md (eval/run.py, eval/metrics.py).

    python bench/store_bench.py [--work /tmp/iqa-store-bench]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import SHARED, dir_mb, machine, median, p95, save

from eval.questions import load_questions
from eval.run import engine_search, evaluate
from ingest.build import ingest
from rag.config import Settings
from rag.embed import Embedder, make_embedder
from rag.engine import Engine

KS = [1, 5, 10]
RETRIEVERS = ["hybrid", "dense", "bm25"]


class Memo(Embedder):
    """The real embedder, each text embedded once for both stores."""

    def __init__(self, inner: Embedder):
        self.inner, self.name, self.dim, self.seen = inner, inner.name, inner.dim, {}

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts, progress=None):
        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.seen.update(zip(missing, self.inner.embed_passages(missing, progress)))
        elif progress:
            progress(len(texts))
        return np.stack([self.seen[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def ms(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return 1000 * (time.perf_counter() - t0)


def measure(spec: str, work: Path, embedder: Memo, questions) -> dict:
    index = work / f"index-{spec.split(':')[0]}"
    summary = ingest([SHARED / "corpus"], index, embedder, store=spec, log=lambda m: print(m, file=sys.stderr))
    settings = Settings(home=work / "home", index_dir=index, embed_model=embedder.name, translate_model="", store=spec)
    engine = Engine(settings, embedder=embedder, log=lambda m: print(m, file=sys.stderr))
    store = engine.store
    texts = [c.text for c in store.chunks]
    recall = {r: evaluate(engine_search(engine, r), questions, texts, r, KS)["metrics"] for r in RETRIEVERS}
    vectors = [engine.embed_query(q.question) for q in questions]      # made before timing dense search
    dense = [ms(store.dense_search, v, 10) for v in vectors]
    bm25 = [ms(store.lexical.search, q.question, 10) for q in questions]
    hybrid = [ms(engine.search, q.question, 5, "hybrid") for q in questions]
    size = dir_mb(index) + (dir_mb(work / "kb.db") if (work / "kb.db").exists() else 0)
    return {"store": spec, "chunks": len(store.chunks), "ingest_s": {k: round(v, 2) for k, v in summary.seconds.items()},
            "embedded": summary.embedded, "size_mb": round(size, 1),
            "recall": {r: {k: round(v, 4) for k, v in m.items()} for r, m in recall.items()},
            "ms": {name: {"p50": round(median(xs), 2), "p95": round(p95(xs), 2)}
                   for name, xs in (("dense", dense), ("bm25", bm25), ("hybrid", hybrid))}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "iqa-store-bench")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    questions = load_questions(SHARED / "eval" / "dev_questions.jsonl")
    embedder = Memo(make_embedder("e5-small", threads=2))
    runs = [measure(spec, args.work, embedder, questions) for spec in ("faiss", f"milvus:{args.work / 'kb.db'}")]
    faiss_run, milvus_run = runs
    for run in runs:
        r5 = {r: run["recall"][r]["recall@5"] for r in RETRIEVERS}
        print(f"{run['store'].split(':')[0]:<7} chunks {run['chunks']}  ingest {run['ingest_s']}  embedded {run['embedded']}  "
              f"size {run['size_mb']} MB\n        Recall@5 {r5}  query ms {run['ms']}")
    gap = abs(faiss_run["recall"]["hybrid"]["recall@5"] - milvus_run["recall"]["hybrid"]["recall@5"])
    print(f"hybrid Recall@5 gap: {gap:.4f} (must be <= 0.01)  [{machine()}, {len(questions)} questions]")
    save("store", {"machine": machine(), "questions": len(questions), "runs": runs, "recall5_gap": gap})
    return 0 if gap <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
