"""Recall@k (a hit in the top k), MRR@10 and nDCG@10 with binary gains.

Computed here in a few lines and checked against ir-measures (the BEIR/MTEB reference) in
tests/test_eval.py. A question with no relevant passage retrieved scores 0, never disappears.

    first_relevant_rank([False, True, False]) -> 2
"""
from __future__ import annotations

import math


def first_relevant_rank(relevance: list[bool]) -> int | None:
    return next((i for i, rel in enumerate(relevance, start=1) if rel), None)


def recall_at(relevance: list[bool], k: int) -> float:
    return 1.0 if any(relevance[:k]) else 0.0


def mrr_at(relevance: list[bool], k: int = 10) -> float:
    rank = first_relevant_rank(relevance[:k])
    return 1.0 / rank if rank else 0.0


def ndcg_at(relevance: list[bool], n_relevant: int, k: int = 10) -> float:
    """Binary gains; the ideal ranking puts all n_relevant passages (in the whole corpus) first."""
    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(relevance[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


def aggregate(per_question: list[dict], ks: list[int]) -> dict:
    n = len(per_question)
    out = {"n": n}
    for k in ks:
        out[f"recall@{k}"] = round(sum(recall_at(q["relevance"], k) for q in per_question) / max(n, 1), 4)
    out["mrr@10"] = round(sum(mrr_at(q["relevance"]) for q in per_question) / max(n, 1), 4)
    out["ndcg@10"] = round(sum(ndcg_at(q["relevance"], q["n_relevant"]) for q in per_question) / max(n, 1), 4)
    return out
