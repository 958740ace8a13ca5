"""Vector-store backends by name; a new one is one module plus one line in BACKENDS.

A store is named by a spec, "KIND" or "KIND:WHERE": "faiss" (files in the index folder), "milvus"
(Milvus Lite in the index folder), "milvus:./notes.db" or "milvus:http://host:19530".

    index = build_vector_index(vectors)                 # FAISS, Flat or HNSW32 by size
    index = build_vector_index(vectors, "milvus:./notes.db")
    index = load_vector_index(folder, "faiss")
"""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from rag.errors import ConfigError, IndexUnavailable
from rag.lexical import Lexical
from rag.stores.base import VectorIndex

# kind -> (module, class, how to install what it imports). Modules are imported on first use so a
# missing optional backend costs nothing until someone asks for it.
BACKENDS: dict[str, tuple[str, str, str]] = {
    "faiss": ("rag.stores.faiss_store", "FaissIndex", "pip install faiss-cpu"),
    "milvus": ("rag.stores.milvus_store", "MilvusIndex", "pip install pymilvus milvus-lite"),
}
DEFAULT = "faiss"


def parse_spec(spec: str) -> tuple[str, str]:
    """A store spec split into backend and place: parse_spec("milvus:./a.db") -> ("milvus", "./a.db")."""
    kind, _, where = (spec or DEFAULT).partition(":")
    kind = kind.strip().lower()
    if kind not in BACKENDS:
        raise ConfigError(f"Unknown vector store {kind!r}; choose one of {', '.join(sorted(BACKENDS))}.")
    if where and kind == "faiss":
        raise ConfigError(f"The faiss store lives in the index folder and takes no place ({spec!r}); use --store faiss.")
    where = where.strip()
    if where and "://" not in where:                # a file: the same file whatever the working folder
        where = str(Path(where).expanduser().resolve())
    return kind, where


def backend(kind: str = DEFAULT) -> type[VectorIndex]:
    """The VectorIndex class registered as kind: backend("faiss") -> FaissIndex."""
    kind, _ = parse_spec(kind)
    module, name, hint = BACKENDS[kind]
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as e:
        raise ConfigError(f"The {kind!r} vector store needs a package that is not installed "
                          f"({e.name or e}); run `{hint}`.") from e


def make_vector_index(kind: str = DEFAULT, *, dim: int, size: int = 0, layout: str | None = None) -> VectorIndex:
    """An empty index for about size rows: make_vector_index(dim=384, size=1000).layout -> "Flat".

    kind is a store spec; its place, if any, goes to the backend: make_vector_index("milvus:./a.db", dim=384).
    """
    _, where = parse_spec(kind)
    place = {"where": where} if where else {}
    return backend(kind)(dim, size=size, layout=layout, **place)


def build_vector_index(vectors: np.ndarray, kind: str = DEFAULT, layout: str | None = None) -> VectorIndex:
    """An index holding vectors (row i = vectors[i]): build_vector_index(np.eye(3, dtype="f4")).ntotal -> 3."""
    index = make_vector_index(kind, dim=int(vectors.shape[1]), size=len(vectors), layout=layout)
    index.add(vectors)
    return index


def check_store(spec: str, index_dir: Path) -> None:
    """The store can take a generation: known, installed and (for a backend with a `reach`) reachable now."""
    kind, where = parse_spec(spec)
    backend(kind)
    reach = getattr(importlib.import_module(BACKENDS[kind][0]), "reach", None)
    if reach:
        reach(where, index_dir)


def load_vector_index(folder: Path, kind: str = DEFAULT) -> VectorIndex:
    """What a backend saved into a generation folder: load_vector_index(gen, "faiss").ntotal.

    A place in kind overrides where the backend wrote ("milvus:http://other:19530" reaches the same collection).
    """
    _, where = parse_spec(kind)
    return backend(kind).load(folder, where=where) if where else backend(kind).load(folder)


def opened_spec(recorded: str, requested: str) -> str:
    """The spec to open an index with: what its manifest records, at the place requested (if any).

    The default ("faiss") asks for nothing: an index opens with the backend that wrote it. Another backend
    named here must be the recorded one: opened_spec("faiss", "milvus:x.db") raises IndexUnavailable.
    """
    kind, where = parse_spec(requested)
    if kind not in (DEFAULT, recorded):
        raise IndexUnavailable(f"The index keeps its vectors in {recorded}, not {kind}; run "
                               f"`iqa ingest --store {requested} PATH` to move them there.")
    return f"{recorded}:{where}" if kind == recorded and where else recorded


def save_rows(folder: Path, index: VectorIndex, lexical: Lexical, chunks) -> None:
    """A generation's vectors and BM25 side: files in folder, or the backend's own place for both."""
    if index.keeps_bm25:              # chunk ids and BM25 weights go into the backend with the vectors
        index.save(folder, lexical, chunks)
    else:
        index.save(folder)
        lexical.save(folder)


def saved_bm25(folder: Path, index: VectorIndex, made_by: dict[str, str]):
    """BM25 as saved: bm25s files in the folder, or the side a backend keeps itself (Milvus: sparse vectors)."""
    if not index.keeps_bm25:
        return Lexical.load(folder, made_by)
    index.bm25_side.signature = made_by
    return index.bm25_side


__all__ = ["BACKENDS", "VectorIndex", "backend", "check_store", "build_vector_index", "load_vector_index", "make_vector_index",
           "opened_spec", "parse_spec", "save_rows", "saved_bm25"]
