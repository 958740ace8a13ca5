"""Vector-store backends by name; a new one (Milvus, say) is one module plus one line in BACKENDS.

    index = build_vector_index(vectors)                 # FAISS, Flat or HNSW32 by size
    index = load_vector_index(folder, "faiss")
"""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from rag.errors import ConfigError
from rag.stores.base import VectorIndex

# kind -> (module, class, how to install what it imports). Modules are imported on first use so a
# missing optional backend costs nothing until someone asks for it.
BACKENDS: dict[str, tuple[str, str, str]] = {
    "faiss": ("rag.stores.faiss_store", "FaissIndex", "pip install faiss-cpu"),
}
DEFAULT = "faiss"


def backend(kind: str = DEFAULT) -> type[VectorIndex]:
    """The VectorIndex class registered as kind: backend("faiss") -> FaissIndex."""
    if kind not in BACKENDS:
        raise ConfigError(f"Unknown vector store {kind!r}; choose one of {', '.join(sorted(BACKENDS))}.")
    module, name, hint = BACKENDS[kind]
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as e:
        raise ConfigError(f"The {kind!r} vector store needs a package that is not installed "
                          f"({e.name or e}); run `{hint}`.") from e


def make_vector_index(kind: str = DEFAULT, *, dim: int, size: int = 0, layout: str | None = None) -> VectorIndex:
    """An empty index for about size rows: make_vector_index(dim=384, size=1000).layout -> "Flat"."""
    return backend(kind)(dim, size=size, layout=layout)


def build_vector_index(vectors: np.ndarray, kind: str = DEFAULT, layout: str | None = None) -> VectorIndex:
    """An index holding vectors (row i = vectors[i]): build_vector_index(np.eye(3, dtype="f4")).ntotal -> 3."""
    index = make_vector_index(kind, dim=int(vectors.shape[1]), size=len(vectors), layout=layout)
    index.add(vectors)
    return index


def load_vector_index(folder: Path, kind: str = DEFAULT) -> VectorIndex:
    """What a backend saved into a generation folder: load_vector_index(gen, "faiss").ntotal."""
    return backend(kind).load(folder)


__all__ = ["BACKENDS", "VectorIndex", "backend", "build_vector_index", "load_vector_index", "make_vector_index"]
