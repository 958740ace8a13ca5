"""The index on disk; the only module that imports faiss.

Layout of an index directory:
    CURRENT            name of the live generation (replaced atomically)
    gen-<n>/           manifest.json, chunks.jsonl, vectors.faiss, bm25/, terms.json
A new generation is written completely, then CURRENT is switched with os.replace, so an
interrupted ingest leaves the previous index live. Nothing is pickled.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from rag.errors import IqaError
from rag.lexical import Lexical, load_terms, save_terms
from rag.schema import Chunk

FORMAT = "iqa-index v1"
HNSW_FROM = 50_000          # exact search below this many vectors (see bench/RESULTS.md)
REBUILD = "run `iqa ingest --rebuild PATH`"


@dataclass
class Manifest:
    embedder: str
    dim: int
    chunks: int = 0
    root: str = ""
    files: dict[str, dict] = field(default_factory=dict)   # source -> {"sha256", "chunks"}
    index_type: str = "Flat"
    parser: str = ""            # ingest's parser version: a change re-parses every file
    built: float = 0.0
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1)


def make_index(vectors: np.ndarray, kind: str | None = None) -> faiss.Index:
    """Exact inner-product search below HNSW_FROM vectors, HNSW above (kind forces "Flat" or "HNSW32")."""
    dim = vectors.shape[1]
    kind = kind or ("HNSW32" if len(vectors) >= HNSW_FROM else "Flat")
    spec = "HNSW32,Flat" if kind == "HNSW32" else "Flat"
    index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class Store:
    """Chunks, their vectors (row i = chunk i) and the BM25 index of one generation."""

    def __init__(self, manifest: Manifest, chunks: list[Chunk], index: faiss.Index, lexical: Lexical,
                 terms: list[str], folder: Path | None = None):
        self.manifest, self.chunks, self.index = manifest, chunks, index
        self.lexical, self.terms, self.folder = lexical, terms, folder
        self.row = {chunk.id: i for i, chunk in enumerate(chunks)}

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        if hasattr(self.index, "hnsw"):
            self.index.hnsw.efSearch = max(64, 2 * k)
        scores, ids = self.index.search(query_vector.reshape(1, -1).astype(np.float32), min(k, len(self.chunks)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def vectors(self) -> np.ndarray:
        return self.index.reconstruct_n(0, self.index.ntotal) if self.index.ntotal else \
            np.zeros((0, self.manifest.dim), np.float32)


def current_folder(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    return index_dir / pointer.read_text(encoding="utf-8").strip()


def save(store: Store, index_dir: Path) -> Path:
    """Write a new generation, switch CURRENT to it atomically, then remove older generations."""
    index_dir.mkdir(parents=True, exist_ok=True)
    folder = index_dir / f"gen-{time.time_ns()}"
    tmp = index_dir / f".tmp-{folder.name}"
    tmp.mkdir()
    store.manifest.chunks, store.manifest.built = len(store.chunks), time.time()
    store.manifest.index_type = "HNSW32" if hasattr(store.index, "hnsw") else "Flat"
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
        for chunk in store.chunks:
            f.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    faiss.write_index(store.index, str(tmp / "vectors.faiss"))
    store.lexical.save(tmp)
    save_terms(tmp, store.terms)
    (tmp / "manifest.json").write_text(store.manifest.to_json(), encoding="utf-8")   # last: marks complete
    _fsync_tree(tmp)
    os.rename(tmp, folder)
    pointer_tmp = index_dir / f".CURRENT.{os.getpid()}"
    pointer_tmp.write_text(folder.name, encoding="utf-8")
    os.replace(pointer_tmp, index_dir / "CURRENT")
    _remove_stale(index_dir, keep=folder.name)
    store.folder = folder
    return folder


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def _remove_stale(index_dir: Path, keep: str) -> None:
    for path in index_dir.iterdir():
        if path.name != keep and (path.name.startswith("gen-") or path.name.startswith(".tmp-gen-")):
            shutil.rmtree(path, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest | None:
    folder = current_folder(index_dir)
    if folder is None:
        return None
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as e:
        raise IqaError(f"The index at {index_dir} is damaged or not an iqa index ({e}); {REBUILD}.")


def load(index_dir: Path, embedder_name: str | None = None) -> Store:
    """Load the live generation; any damage or mismatch is one sentence naming the fix."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IqaError(f"No index at {index_dir}; run `iqa ingest PATH` first.")
    if embedder_name and manifest.embedder != embedder_name:
        raise IqaError(f"The index at {index_dir} was built with embedder {manifest.embedder!r}, "
                       f"not {embedder_name!r}; {REBUILD} (or use --embed-model {manifest.embedder}).")
    folder = current_folder(index_dir)
    try:
        chunks = [Chunk.from_dict(json.loads(line))
                  for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
        index = faiss.read_index(str(folder / "vectors.faiss"))
        lexical = Lexical.load(folder)
        terms = load_terms(folder)
    except Exception as e:  # truncated files surface as many exception types; all mean "rebuild"
        raise IqaError(f"The index at {index_dir} is damaged ({type(e).__name__}); {REBUILD}.")
    if not (len(chunks) == index.ntotal == manifest.chunks == lexical.bm25.scores["num_docs"]) \
            or index.d != manifest.dim:
        raise IqaError(f"The index at {index_dir} is inconsistent (chunk and vector counts differ); {REBUILD}.")
    return Store(manifest, chunks, index, lexical, terms, folder)
