"""The answer-quality measures on crafted answers, and the run with a scripted model."""
import json

import pytest

from eval.answer_run import score, summary, write
from eval.answers import defects, supported
from eval.questions import Question
from rag.engine import Engine
from tests.conftest import FakeEmbedder, FakeLLM

NOTE = "ROIPool 有两次量化：候选框坐标取整，bin 边界再取整。ROIAlign 去掉取整，用双线性插值计算采样点的值。"
CLEAN = "ROIPool 对候选框坐标和 bin 边界两次取整 [1]。ROIAlign 去掉取整，用双线性插值计算采样点 [1]。"


def test_a_clean_answer_scores_clean():
    assert supported(CLEAN, {1: NOTE}) == [True, True]
    assert not any(defects(CLEAN, "ROIAlign 和 ROIPool 的区别", "llm").values())


@pytest.mark.parametrize("answer, defect", [
    (CLEAN + "笔记中没有相关内容。", "decline_appended"),
    ("ROIAlign 去掉取整，用双线性插值 [1]；再取整 [1]", "cut_mid_sentence"),
    ("ROIAlign 用双线性插值计算 [1]。它更准 [1]。ROIAlign 用双线性插值计算 [1]。", "repeated_sentence"),
    ("ROIAlign 用双线性插值计算 [1]。 [1]", "bare_marker"),
    ("ROIAlign 用双线性插值计算 [1]。\n[2]\n", "bare_marker"),
    ("ROIAlign uses bilinear interpolation and never rounds coordinates [1].", "wrong_language"),
])
def test_each_defect_is_detected_and_only_it(answer, defect):
    found = defects(answer, "ROIAlign 和 ROIPool 的区别", "llm")
    assert found[defect] and [d for d, bad in found.items() if bad] == [defect]


def test_a_declined_covered_question_is_a_defect_and_code_is_not_prose():
    assert defects("笔记中没有找到与这个问题相关的内容。", "ROIAlign?", "out_of_scope")["declined_covered"]
    with_code = CLEAN + "\n```python\nx = roi_align(f, boxes)\n```"
    assert not defects(with_code, "ROIAlign 的代码", "llm")["cut_mid_sentence"]


def test_a_sentence_the_cited_passage_does_not_hold_is_unsupported():
    wrong = "调用 contiguous() 后张量不再满足连续性条件 [1]。"
    assert supported(wrong, {1: NOTE}) == [False]
    assert supported("ROIAlign 用双线性插值计算采样点。", {1: NOTE}) == [False]      # uncited
    assert supported("ROIAlign 用双线性插值计算采样点 [2]。", {1: NOTE}) == [False]  # cites a passage not shown


def test_headings_and_questions_claim_nothing_and_are_not_judged():
    answer = ("### ROIAlign 的做法\n为什么要去掉取整 [1]？\n1. **双线性插值采样点** [1]\n"
              "ROIAlign 用双线性插值计算采样点 [1]。\n调用后张量不再连续 [1]。")
    assert supported(answer, {1: NOTE}) == [True, False]


def test_an_english_sentence_is_judged_by_the_given_margin():
    calls = []

    def judge(sentence, passages):
        calls.append(sentence)
        return True
    assert supported("ROIAlign samples with bilinear interpolation [1].", {1: NOTE}, judge) == [True]
    assert calls == ["ROIAlign samples with bilinear interpolation."]


def test_the_run_scores_every_answer_and_writes_the_report(settings, monkeypatch, tmp_path):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM("ROIAlign 去掉取整，用双线性插值计算采样点的值 [1]。"),
                    log=lambda m: None)
    question = Question("t1", "ROIAlign 和 ROIPool 的区别", "detection.md", ["双线性插值"])
    row = score(engine, question)
    assert row["relevant_citation"] and row["supported"] == row["sentences"] >= 1      # the lead and the notes' lines
    assert not any(row["defects"].values()) and row["prompt_tokens"] > 0
    s = summary([row])
    assert s["relevant_citation"] == 1.0 and s["supported_sentences"] == 1.0 and s["bare_marker"] == 0
    report = write(tmp_path / "out", [row], "fake-llm")
    assert "| relevant_citation | 1.0 |" in report.read_text()
    assert json.loads((tmp_path / "out" / "answers.jsonl").read_text())["id"] == "t1"
