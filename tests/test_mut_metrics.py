"""eval.metrics edge cases the hand-made rankings in test_eval.py leave open (found by `make mutation`)."""
import math

import pytest

from eval.metrics import aggregate, ndcg_at


def test_ndcg_looks_at_the_top_ten_by_default():
    eleventh = [False] * 10 + [True]
    assert ndcg_at(eleventh, n_relevant=1) == 0.0
    assert ndcg_at(eleventh, n_relevant=1, k=11) == pytest.approx(1 / math.log2(12))


def test_ndcg_of_a_question_with_no_relevant_passage_is_zero_not_an_error():
    assert ndcg_at([True, False], n_relevant=0) == 0.0
    assert ndcg_at([], n_relevant=0) == 0.0


def test_aggregate_of_one_question_is_that_questions_scores():
    out = aggregate([{"relevance": [False, True], "n_relevant": 1}], ks=[1, 5])
    assert out == {"n": 1, "recall@1": 0.0, "recall@5": 1.0, "mrr@10": 0.5, "ndcg@10": 0.6309}


def test_aggregate_rounds_to_four_decimals():
    per_question = [{"relevance": [False, False, True], "n_relevant": 1},
                    {"relevance": [False], "n_relevant": 1},
                    {"relevance": [False], "n_relevant": 2}]
    out = aggregate(per_question, ks=[3])
    assert out == {"n": 3, "recall@3": 0.3333, "mrr@10": 0.1111, "ndcg@10": 0.1667}
