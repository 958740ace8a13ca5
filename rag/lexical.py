"""BM25 over jieba search-mode tokens (bm25s), saved beside the vectors without pickle.

The question and heading are repeated in each document's tokens so that a match there
outweighs one in the body text.
"""
from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np

from rag import text as textlib
from rag.schema import Chunk

HEADING_WEIGHT = 2      # times the heading tokens are repeated


def chunk_tokens(chunk: Chunk) -> list[str]:
    heading = " ".join(chunk.heading[1:]) or chunk.heading[0]
    return textlib.tokenize(heading) * HEADING_WEIGHT + textlib.tokenize(chunk.text)


class Lexical:
    def __init__(self, bm25: bm25s.BM25, vocab: dict[str, int]):
        self.bm25, self.vocab = bm25, vocab

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> "Lexical":
        bm25 = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        # bm25s needs at least one token per document to build its matrix.
        bm25.index([tokens or ["\u2205"] for tokens in token_lists], show_progress=False)
        return cls(bm25, dict(bm25.vocab_dict))

    def scores(self, query: str) -> np.ndarray:
        ids = [self.vocab[t] for t in textlib.tokenize(query) if t in self.vocab]
        n = self.bm25.scores["num_docs"]
        if not ids:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(ids), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores = self.scores(query)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder / "bm25"), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        bm25 = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False, mmap=False)
        return cls(bm25, dict(bm25.vocab_dict))


def save_terms(folder: Path, terms: list[str]) -> None:
    (folder / "terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")


def load_terms(folder: Path) -> list[str]:
    path = folder / "terms.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
