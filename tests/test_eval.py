import json
import random

import ir_measures
import pytest
from ir_measures import RR, Success, nDCG

from eval.metrics import aggregate, mrr_at, ndcg_at, recall_at
from eval.questions import Question, load_questions, unanchored
from rag.errors import IqaError


def test_hit_rule_uses_nfkc_and_ignores_whitespace():
    q = Question("q1", "?", "", ["ROIPool存在两次量化误差", "双线性 插值"])
    assert q.is_relevant("…ROIPool 存在\n两次量化误差，…")
    assert q.is_relevant("用双线性插值")               # whitespace in the anchor is ignored too
    assert q.is_relevant("ＲＯＩＰｏｏｌ存在两次量化误差")   # full-width letters fold under NFKC
    assert not q.is_relevant("ROIAlign 不量化")


def test_metrics_on_hand_made_rankings():
    rel = [False, False, True, False, True]
    assert recall_at(rel, 1) == 0 and recall_at(rel, 3) == 1
    assert mrr_at(rel) == pytest.approx(1 / 3)
    assert ndcg_at([True], n_relevant=1) == 1.0
    assert ndcg_at(rel, n_relevant=2) == pytest.approx((1 / 2 + 1 / 2.584962500721156) / (1 + 1 / 1.584962500721156))
    assert mrr_at([False] * 10 + [True]) == 0.0   # beyond the cut-off


def test_metrics_match_ir_measures_on_random_runs():
    rng = random.Random(7)
    per_question, qrels, run = [], {}, {}
    for q in range(40):
        docs = [f"d{i}" for i in range(30)]
        relevant = set(rng.sample(docs, rng.randint(1, 4)))
        ranking = rng.sample(docs, 10)
        per_question.append({"relevance": [d in relevant for d in ranking], "n_relevant": len(relevant)})
        qrels[f"q{q}"] = {d: 1 for d in relevant}
        run[f"q{q}"] = {d: 10.0 - i for i, d in enumerate(ranking)}     # strictly decreasing: no ties
    ours = aggregate(per_question, [1, 3, 5, 10])
    ref = ir_measures.calc_aggregate([Success @ 1, Success @ 3, Success @ 5, Success @ 10, RR @ 10, nDCG @ 10], qrels, run)
    for k in (1, 3, 5, 10):
        assert ours[f"recall@{k}"] == pytest.approx(ref[Success @ k], abs=1e-4)
    assert ours["mrr@10"] == pytest.approx(ref[RR @ 10], abs=1e-4)
    assert ours["ndcg@10"] == pytest.approx(ref[nDCG @ 10], abs=1e-4)


def test_question_file_validation_reports_line_numbers(tmp_path):
    good = {"id": "a", "question": "BN?", "source": "x.md", "anchors": ["均值"]}
    lines = [json.dumps(good), "{broken", json.dumps({"id": "b", "question": "x", "anchors": []}),
             json.dumps({"id": "a", "question": "dup", "anchors": ["y"]}), json.dumps({"question": "no id", "anchors": ["z"]})]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(IqaError) as err:
        load_questions(path)
    message = str(err.value)
    assert "4 bad line(s)" in message and "line 2" in message and "line 3: anchors" in message
    assert "line 4: duplicate id 'a'" in message and "line 5: missing id" in message
    with pytest.raises(IqaError, match="does not exist"):
        load_questions(tmp_path / "none.jsonl")


def test_unanchored_questions_are_found(tmp_path):
    qs = [Question("a", "?", "", ["双线性插值"]), Question("b", "?", "", ["不存在的句子"])]
    assert [q.id for q in unanchored(qs, ["ROIAlign 用 双线性 插值"])] == ["b"]
