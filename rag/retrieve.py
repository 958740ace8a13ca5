"""Hybrid search: dense (FAISS) + BM25 rankings fused by Reciprocal Rank Fusion, near-duplicates collapsed.

    rrf([[3, 1], [1, 7]], k=60) -> {1: 1/62 + 1/61, 3: 1/61, 7: 1/62}
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from rag import text as textlib
from rag.errors import InputError, ModelUnavailable
from rag.schema import Chunk, Hit
from rag.store import Store

RETRIEVERS = ("hybrid", "dense", "bm25")
CANDIDATES = 50
# Chosen on the dev questions (bench/RESULTS.md): RRF k=60 with equal weights gave Recall@5 0.900,
# MRR@10 0.820; k=10 with BM25 at half the dense weight 0.944 / 0.823.
RRF_K = 10
BM25_WEIGHT = 0.5
# An English question over Chinese notes shares few words with them: BM25 tokens cannot cross scripts,
# so hybrid follows the multilingual dense ranking (dev questions, English only: R@5 0.750 with BM25 at
# weight 0.1, 0.833 without; Chinese and mixed questions are unaffected).
BM25_WEIGHT_CROSS_SCRIPT = 0.0
DUPLICATE_JACCARD = 0.8


def rrf(rankings: list[list[int]], k: int = RRF_K, weights: list[float] | None = None) -> dict[int, float]:
    scores: dict[int, float] = {}
    for r, ranking in enumerate(rankings):
        w = weights[r] if weights else 1.0
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return scores


def shingles(text: str, n: int = 5) -> set[str]:
    s = textlib.squash(text).lower()
    return {s[i:i + n] for i in range(max(1, len(s) - n + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def collapse_duplicates(hits: list[Hit]) -> list[Hit]:
    """The same answer copied into two files counts once; the copy's location is kept in also_in."""
    kept: list[tuple[Hit, set[str]]] = []
    for hit in hits:
        sh = shingles(hit.chunk.text)
        twin = next((h for h, s in kept if jaccard(sh, s) >= DUPLICATE_JACCARD), None)
        if twin is None:
            kept.append((hit, sh))
        else:
            twin.also_in.append(hit.chunk.location)
    return [h for h, _ in kept]


class Retriever:
    def __init__(self, store: Store, embed_query: Callable[[str], np.ndarray] | None,
                 rerank: Callable[[str, list[Hit]], list[Hit]] | None = None):
        self.store, self.embed_query, self.rerank = store, embed_query, rerank
        textlib.load_terms(store.terms)     # a Store built in memory (bench) was never loaded
        sample = "".join(c.text for c in store.chunks[:: max(1, len(store.chunks) // 200)])
        self.chinese_corpus = textlib.cjk_share(sample) > 0.3
        self.openings = section_openings(store.chunks)

    def bm25_weight(self, query: str) -> float:
        """BM25's weight in the fusion: bm25_weight("What is NMS?") -> 0.0 over Chinese notes."""
        cross_script = textlib.is_english(query) and self.chinese_corpus
        return BM25_WEIGHT_CROSS_SCRIPT if cross_script else BM25_WEIGHT

    def dense(self, query: str, k: int = CANDIDATES) -> list[tuple[int, float]]:
        if self.embed_query is None:
            raise ModelUnavailable("Dense retrieval needs an embedder; use --retriever bm25 or load one.")
        return self.store.dense_search(self.embed_query(query), k)

    def bm25(self, query: str, k: int = CANDIDATES) -> list[tuple[int, float]]:
        return self.store.lexical.search(query, k)

    def search(self, query: str, k: int = 5, retriever: str = "hybrid") -> list[Hit]:
        if retriever not in RETRIEVERS:
            raise InputError(f"Unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}.")
        if not query.strip() or not self.store.chunks:
            return []
        if retriever == "hybrid":
            fused = rrf([[i for i, _ in self.dense(query)], [i for i, _ in self.bm25(query)]],
                        weights=[1.0, self.bm25_weight(query)])
            ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
        else:
            ranked = self.dense(query) if retriever == "dense" else self.bm25(query)
        ranked = openings_first(ranked, self.openings)
        hits = [Hit(self.store.chunks[i], score) for i, score in ranked[: max(3 * k, 20)]]
        hits = collapse_duplicates(hits)
        if self.rerank:
            hits = self.rerank(query, hits)
        for rank, hit in enumerate(hits[:k], start=1):
            hit.rank = rank
        return hits[:k]


OPENINGS_WINDOW = 10    # how deep a later chunk can lift its section's opening chunk


def section_key(chunk: Chunk) -> tuple:
    return chunk.source, tuple(chunk.heading)


def section_openings(chunks: list[Chunk]) -> list[int]:
    """For each row, the row of its section's first chunk (itself in a file without headings)."""
    first: dict[tuple, int] = {}
    for row, chunk in enumerate(chunks):
        key = section_key(chunk)
        if len(chunk.heading) > 1 and (key not in first or chunk.start < chunks[first[key]].start):
            first[key] = row
    return [first.get(section_key(chunk), row) for row, chunk in enumerate(chunks)]


def openings_first(ranked: list[tuple[int, float]], openings: list[int]) -> list[tuple[int, float]]:
    """Each headed section's first chunk takes the best slot any of its chunks earned in the window.

    In question-structured notes the direct answer opens the section; later chunks hold derivations,
    code and asides but often match the words of a question better (GUIDE: dev Recall@1 +0.02 with
    no weight to tune). A file without headings is one long section and keeps its ranking.

        openings_first([(5, .9), (3, .8)], openings=[0, 1, 2, 3, 4, 4]) -> [(4, .9), (5, .9), (3, .8)]
    """
    out, placed = [], set()
    for pos, (row, score) in enumerate(ranked):
        opening = openings[row]
        if pos < OPENINGS_WINDOW and opening not in placed:
            out.append((opening, score))
            placed.add(opening)
        if row not in placed:
            out.append((row, score))
            placed.add(row)
    return out


DENSE_CHARS = 160      # answer characters each dense vector sees (bench/embed_budget.py)


def passage_text(chunk: Chunk, max_chars: int | None = None) -> str:
    """What the dense vector sees: the question, then the opening of the answer.

    Embedding cost grows with length on a 2-core CPU; for question-structured notes the
    question plus the answer's opening carries most of the meaning (see bench/RESULTS.md).
    """
    head = chunk.question or (chunk.heading[-1] if chunk.heading else "")
    return f"{head}\n{chunk.text[:max_chars or DENSE_CHARS]}".strip()
