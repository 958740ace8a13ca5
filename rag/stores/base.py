"""The seam between rag/store.py and a vector library: one small abstract class.

    index = make_vector_index("faiss", dim=384, size=len(vectors)); index.add(vectors)
    index.search(query_vector, 5) -> [(row, score), ...]      # row i is chunk i

A backend stores L2-normalised float32 rows and ranks them by inner product (cosine).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np


class VectorIndex(ABC):
    """Rows of vectors searched by inner product; saved into and loaded from a generation folder."""

    kind: ClassVar[str] = ""       # registry name, recorded in the manifest ("faiss")
    package: ClassVar[str] = ""    # the distribution to install ("faiss-cpu")
    version: ClassVar[str] = ""    # its running version, recorded in the manifest
    layout: str = ""               # how the rows are indexed ("Flat", "HNSW32"), for the manifest
    # True for a backend that also stores the BM25 side (Milvus: sparse vectors). rag/store.py then calls
    # save(folder, lexical, chunks) instead of writing bm25s files, and reads BM25 back through the backend.
    keeps_bm25: ClassVar[bool] = False

    @abstractmethod
    def add(self, vectors: np.ndarray) -> None:
        """Append rows: add(np.zeros((2, dim), np.float32)) makes rows ntotal and ntotal+1."""

    @abstractmethod
    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Best k rows for one query vector, best first: search(v, 2) -> [(7, 0.91), (3, 0.88)]."""

    @abstractmethod
    def reconstruct(self, row: int) -> np.ndarray:
        """The stored vector of one row: reconstruct(0).shape -> (dim,)."""

    @abstractmethod
    def reconstruct_all(self) -> np.ndarray:
        """Every stored row: reconstruct_all().shape -> (ntotal, dim)."""

    @property
    @abstractmethod
    def ntotal(self) -> int:
        """How many rows are stored."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of each vector."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the rows into folder (a generation being built; the caller fsyncs and renames it)."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path) -> "VectorIndex":
        """Read what save wrote; any exception means the folder is damaged."""

    def went_live(self, index_dir: Path) -> None:
        """Called once CURRENT names this generation: a backend that keeps rows outside the folder (Milvus)
        points its own readers at them and drops what older generations left. Files need nothing."""
