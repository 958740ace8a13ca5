"""Cost growth: the shared corpus index replicated 1x, 4x, 16x, 64x (distinct ids), Flat vs HNSW.

Vectors of the copies are the real vectors plus small noise (re-embedding 50k chunks would take
about 50 minutes here; embedding cost is linear at the ms/chunk printed by ingest_bench). Index
build time, size on disk, resident memory and query p50 are measured for real.

    python bench/growth_bench.py --index /tmp/iqa-bench-index
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from common import dev_questions, dir_mb, machine, median, rss_mb, save

from rag import store as storelib
from rag.engine import Engine
from rag.config import load_settings
from rag.lexical import Lexical, chunk_tokens
from rag.retrieve import Retriever


def replicate(store, times: int, rng):
    chunks, vectors = [], []
    base = store.vectors()
    for copy in range(times):
        for chunk in store.chunks:
            chunks.append(dataclasses.replace(chunk, id=f"{chunk.id}-{copy}", source=f"copy{copy}/{chunk.source}"))
        noisy = base + (0 if copy == 0 else rng.normal(0, 0.01, base.shape).astype(np.float32))
        vectors.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return chunks, np.concatenate(vectors)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "iqa-bench-index")
    ap.add_argument("--factors", default="1,4,16,64")
    args = ap.parse_args()
    engine = Engine(load_settings(index_dir=args.index), log=lambda m: None)
    questions = [q["question"] for q in dev_questions()]
    query_vectors = {q: engine.embed_query(q) for q in questions}
    tokens = [chunk_tokens(c) for c in engine.store.chunks]
    rng = np.random.default_rng(0)
    rows = []
    for factor in [int(f) for f in args.factors.split(",")]:
        chunks, vectors = replicate(engine.store, factor, rng)
        for kind in ("Flat", "HNSW32"):
            row = {"factor": factor, "chunks": len(chunks), "index": kind}
            rss0 = rss_mb()
            t0 = time.perf_counter()
            lexical = Lexical.build(tokens * factor)
            t1 = time.perf_counter()
            faiss_index = storelib.make_index(vectors, kind)
            row["bm25_build_s"], row["faiss_build_s"] = t1 - t0, time.perf_counter() - t1
            manifest = storelib.Manifest(embedder=engine.store.manifest.embedder, dim=vectors.shape[1])
            store = storelib.Store(manifest, chunks, faiss_index, lexical, engine.store.terms)
            with tempfile.TemporaryDirectory() as tmp:
                t2 = time.perf_counter()
                storelib.save(store, Path(tmp))
                row["save_s"], row["disk_mb"] = time.perf_counter() - t2, dir_mb(Path(tmp))
            retriever = Retriever(store, lambda q: query_vectors[q])
            times = []
            for q in questions:
                t3 = time.perf_counter()
                retriever.search(q, 5, "hybrid")
                times.append(1000 * (time.perf_counter() - t3))
            row["query_p50_ms"], row["rss_growth_mb"] = median(times), rss_mb() - rss0
            dense_times = []
            for q in questions:
                t4 = time.perf_counter()
                store.dense_search(query_vectors[q], 50)
                dense_times.append(1000 * (time.perf_counter() - t4))
            row["dense_p50_ms"] = median(dense_times)
            rows.append(row)
            print(f"{factor:>3}x {len(chunks):>6} chunks {kind:<6}: build bm25 {row['bm25_build_s']:.1f}s + faiss "
                  f"{row['faiss_build_s']:.2f}s, save {row['save_s']:.1f}s, disk {row['disk_mb']:.0f} MB, "
                  f"+RSS {row['rss_growth_mb']:.0f} MB, hybrid p50 {row['query_p50_ms']:.1f} ms "
                  f"(dense top-50 {row['dense_p50_ms']:.2f} ms)")
            del store, retriever, lexical, faiss_index
    save("growth", {"machine": machine(), "rows": rows})


if __name__ == "__main__":
    main()
