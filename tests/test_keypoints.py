"""Key points (eval/keypoints.py): the hit rule, right answers, and the three places in `iqa eval --answers`."""
import json

import pytest

from eval.answer_run import keypoint_summary, score
from eval.keypoints import KeyPoints, hits, verdict
from eval.questions import Question, load_keypoints, load_questions, with_keypoints
from rag.engine import Engine
from rag.errors import InputError
from tests.conftest import FakeEmbedder, FakeLLM

POINTS = KeyPoints(points=[{"point": "bilinear", "all": [["双线性", "bilinear"], ["插值", "interpolat"]]},
                           {"point": "two roundings", "all": [["两次量化", "两次取整"]]},
                           {"point": "Mask R-CNN", "all": [["maskr-cnn"]]}],
                   wrong=[{"wrong": "ROIAlign rounds", "all": [["roialign"], ["取整后采样"]]}])


@pytest.mark.parametrize("text, groups, hit", [
    ("ROIAlign 用双线性插值", [["双线性", "bilinear"], ["插值"]], True),
    ("uses Bilinear  Interpolation", [["双线性", "bilinear"], ["插值", "interpolat"]], True),   # case, spaces
    ("ＲＯＩＡｌｉｇｎ", [["roialign"]], True),                                                    # NFKC
    ("ROIAlign 用双线性", [["双线性"], ["插值"]], False),                                       # every group
    ("Mask R - CNN", [["maskr-cnn"]], True),                                                   # whitespace removed
    ("anything", [], False),
])
def test_the_hit_rule(text, groups, hit):
    assert hits(text, groups) is hit


def test_a_right_answer_needs_two_thirds_no_wrong_claim_a_relevant_citation_and_no_defect():
    good = "ROIPool 两次量化；ROIAlign 用双线性插值"
    assert verdict(POINTS, good, True, False)["right"]
    assert verdict(POINTS, good, True, False)["keypoint_recall"] == pytest.approx(0.667, abs=1e-3)
    assert not verdict(POINTS, "ROIAlign 用双线性插值", True, False)["right"]          # 1 of 3
    assert not verdict(POINTS, good, False, False)["right"]                          # no relevant citation
    assert not verdict(POINTS, good, True, True)["right"]                            # a visible defect
    wrong = verdict(POINTS, good + "，ROIAlign 取整后采样", True, False)
    assert wrong["wrong_claims"] == ["ROIAlign rounds"] and not wrong["right"]


def test_key_points_come_from_the_question_file_or_a_separate_file(tmp_path):
    questions = tmp_path / "q.jsonl"
    own = {"id": "a", "question": "ROIAlign?", "anchors": ["x"], "points": [{"point": "p", "all": [["双线性"]]}]}
    questions.write_text(json.dumps(own, ensure_ascii=False) + "\n"
                         + json.dumps({"id": "b", "question": "BN?", "anchors": ["y"]}) + "\n", encoding="utf-8")
    points = tmp_path / "k.jsonl"
    points.write_text(json.dumps({"id": "b", "points": [{"point": "q", "all": [["滑动"]]}]}) + "\n"
                      + json.dumps({"id": "a", "points": [{"point": "other", "all": [["no"]]}]}) + "\n")
    loaded = with_keypoints(load_questions(questions), load_keypoints(points))
    assert [q.keypoints.points[0]["point"] for q in loaded] == ["p", "q"]      # a question's own points stay


@pytest.mark.parametrize("line", ['{"id": "a", "points": [{"point": "p"}]}', '{"id": "a", "points": [{"all": []}]}',
                                  '{"id": "a", "points": [{"all": [["x", 1]]}]}', "not json", '["a"]'])
def test_a_bad_key_point_line_is_named(tmp_path, line):
    path = tmp_path / "k.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InputError, match="line 1"):
        load_keypoints(path)


def test_recall_is_measured_in_the_passages_the_prompt_and_the_answer(settings, monkeypatch):
    """A scripted model that says one point: the passages and the prompt hold more, and the row says so."""
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM("ROIAlign 用双线性插值计算采样点 [1]。"),
                    log=lambda m: None)
    question = Question("r1", "ROIAlign 和 ROIPool 有什么区别", "detection.md", ["双线性"], keypoints=POINTS)
    row = score(engine, question)
    # the model said one point; the note's quoted lines under it hold the second; no passage has the third
    assert row["keypoints"] == 3 and row["points_held"] == [True, True, False]
    assert row["keypoint_recall"] == pytest.approx(0.667, abs=1e-3) and row["right"]
    assert row["passages_recall"] == row["prompt_recall"] == row["keypoint_recall"]
    summary = keypoint_summary([row, {**row, "right": False, "keypoint_recall": 0.0}])
    assert summary["right_answers"] == 0.5 and summary["answer_recall"] == pytest.approx(0.333, abs=2e-3)
