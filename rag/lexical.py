"""BM25 over jieba search-mode tokens (bm25s), saved beside the vectors without pickle.

The question and heading are repeated in each document's tokens so that a match there
outweighs one in the body text. BM25 tokens are only comparable with query tokens made by the
same tokenizer: signature() names it (jieba and bm25s versions, the term dictionary's hash, the
traditional-to-simplified rule), and rag/store.py rebuilds the index in memory when the saved
signature differs or lacks one of these (an index saved before the rule existed).

    Lexical.build([chunk_tokens(c) for c in chunks]).search("特征金字塔网络", 5) -> [(row, score), ...]
"""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import bm25s
import numpy as np

from rag import text as textlib
from rag.schema import Chunk

HEADING_WEIGHT = 2      # times the heading tokens are repeated
SIGNATURE_KEYS = ("jieba", "bm25s", "dictionary", "script")


def signature() -> dict[str, str]:
    """What makes BM25 tokens today: {"jieba": "0.42.1", "bm25s": "0.2.x", "dictionary": "3f0c…",
    "script": "opencc 1.4.2 t2s"}."""
    try:
        bm25s_version = metadata.version("bm25s")
    except metadata.PackageNotFoundError:       # a source checkout of bm25s: fall back to its module
        bm25s_version = getattr(bm25s, "__version__", "")
    return {"jieba": textlib.JIEBA_VERSION, "bm25s": bm25s_version, "dictionary": textlib.dictionary_hash(),
            "script": textlib.SCRIPT_RULE}


def chunk_tokens(chunk: Chunk) -> list[str]:
    """BM25 tokens of a chunk: heading tokens HEADING_WEIGHT times, then the body's."""
    heading = " ".join(chunk.heading[1:]) or chunk.heading[0]
    return textlib.tokenize(heading) * HEADING_WEIGHT + textlib.tokenize(chunk.text)


class Lexical:
    """A BM25 index plus the signature of the tokenizer that made its tokens ({} when unknown)."""

    def __init__(self, bm25: bm25s.BM25, vocab: dict[str, int], made_by: dict[str, str] | None = None):
        self.bm25, self.vocab, self.signature = bm25, vocab, made_by or {}

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> "Lexical":
        """Index token lists (one per chunk) made by the tokenizer as it is now."""
        bm25 = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        # bm25s needs at least one token per document to build its matrix.
        bm25.index([tokens or ["\u2205"] for tokens in token_lists], show_progress=False)
        return cls(bm25, dict(bm25.vocab_dict), signature())

    @property
    def size(self) -> int:
        """How many documents are indexed."""
        return int(self.bm25.scores["num_docs"])

    def scores(self, query: str) -> np.ndarray:
        ids = [self.vocab[t] for t in textlib.tokenize(query) if t in self.vocab]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(ids), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores = self.scores(query)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder / "bm25"), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, made_by: dict[str, str] | None = None) -> "Lexical":
        """What save wrote; made_by is the signature the manifest recorded for it."""
        bm25 = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False, mmap=False)
        return cls(bm25, dict(bm25.vocab_dict), made_by)


def write_terms(folder: Path, terms: list[str]) -> None:
    """The corpus's own terms, saved so a loading process teaches the tokenizer the same words."""
    (folder / "terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")


def read_terms(folder: Path) -> list[str]:
    """What write_terms saved ([] for a generation without terms.json)."""
    path = folder / "terms.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
