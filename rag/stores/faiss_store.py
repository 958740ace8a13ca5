"""FAISS behind VectorIndex; the only module that imports faiss.

Exact inner-product search (Flat) below HNSW_FROM vectors, HNSW32 graph search from there on
(bench/RESULTS.md: Flat stays under a few ms up to tens of thousands of rows).
"""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from rag.stores.base import VectorIndex

HNSW_FROM = 50_000          # exact search below this many vectors (see bench/RESULTS.md)
FILE = "vectors.faiss"
SPECS = {"Flat": "Flat", "HNSW32": "HNSW32,Flat"}


class FaissIndex(VectorIndex):
    """FaissIndex(384, size=10) -> an empty exact index; FaissIndex(384, size=60_000) -> HNSW32."""

    kind, package, version = "faiss", "faiss-cpu", faiss.__version__

    def __init__(self, dim: int, size: int = 0, layout: str | None = None, raw: faiss.Index | None = None):
        if raw is None:
            layout = layout or ("HNSW32" if size >= HNSW_FROM else "Flat")
            raw = faiss.index_factory(dim, SPECS[layout], faiss.METRIC_INNER_PRODUCT)
        self.raw = raw
        self.layout = "HNSW32" if hasattr(raw, "hnsw") else "Flat"

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self.raw.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, self.ntotal)
        if k <= 0:
            return []
        if hasattr(self.raw, "hnsw"):
            self.raw.hnsw.efSearch = max(64, 2 * k)     # recall drops when k nears the default 16
        scores, ids = self.raw.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def reconstruct(self, row: int) -> np.ndarray:
        return self.raw.reconstruct(int(row))

    def reconstruct_all(self) -> np.ndarray:
        if not self.ntotal:
            return np.zeros((0, self.dim), np.float32)
        return self.raw.reconstruct_n(0, self.ntotal)

    @property
    def ntotal(self) -> int:
        return int(self.raw.ntotal)

    @property
    def dim(self) -> int:
        return int(self.raw.d)

    def save(self, folder: Path) -> None:
        faiss.write_index(self.raw, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path) -> "FaissIndex":
        raw = faiss.read_index(str(folder / FILE))
        return cls(raw.d, raw=raw)
