"""Every repair of rag/repairs.py on a table of the habits it undoes, and the order they run in."""
import pytest

from rag import repairs
from rag.grounding import ends_mid_sentence
from rag.repairs import REPAIRS, Context, run

NOTES = {1: "ROIAlign 用双线性插值，不取整。", 2: "BN 推理时用训练中滑动平均的均值和方差。"}
ROI = "ROIAlign 用双线性插值 [1]。"


def _ctx(**kw):
    return Context(kw.pop("question", "ROIAlign 和 ROIPool 的区别"), kw.pop("headers", ["检测 › ROIAlign 的做法"]),
                   kw.pop("passages", NOTES), kw.pop("choose", lambda sentence: 1 if "ROIAlign" in sentence else None))


TABLE = [
    ("own_code", ROI + "\n```python\ndef roi_align(x):\n    return x.round()\n```", ROI),
    ("second_paragraph", ROI + "\n\n**代码**：\n解释 [1]。", ROI),
    ("echoed_question", ROI + "\nROIAlign 和 ROIPool 的区别", ROI),
    ("echoed_heading", "[1] 检测 › ROIAlign 的做法\n" + ROI, ROI),
    ("rule_echo", ROI + "\n来源编号为 [2]。", ROI),
    ("bare_marker", "ROIAlign 用双线性插值。 [1]", ROI),
    ("unfinished_end", ROI + "然后再取整 [1]；", ROI),
    ("uncited_sentence", "ROIAlign 用双线性插值。", ROI),
    ("invalid_marker", "ROIAlign 用双线性插值 [1][7]。", ROI),
    ("wrong_passage_cited", "BN 推理时用滑动平均的均值 [1]。", "BN 推理时用滑动平均的均值 [2]。"),
    ("unheld_sentence", ROI + "MobileNet 使用了残差块结构 [1]。", ROI),
]


@pytest.mark.parametrize("name, text, repaired", TABLE, ids=[row[0] for row in TABLE])
def test_each_repair_undoes_its_habit_and_leaves_a_clean_answer_alone(name, text, repaired):
    repair = getattr(repairs, name)
    assert repair(text, _ctx()).strip() == repaired
    assert repair(repaired, _ctx()).strip() == repaired


def test_every_repair_in_the_list_has_a_row():
    assert [r.__name__ for r in REPAIRS] == [row[0] for row in TABLE]


def test_run_names_what_fired_in_order_and_the_notices_a_reader_needs():
    ctx = _ctx()
    text, fired = run("[1] 检测 › ROIAlign 的做法\nROIAlign 用双线性插值。\n```py\nx\n```", ctx)
    assert text == ROI and fired == ["own_code", "echoed_heading", "uncited_sentence"]
    assert ctx.notices == [repairs.NOTICES["own_code"]]


def test_an_unfinished_answer_ends_at_its_last_whole_sentence_or_shows_where_it_stopped():
    ctx = _ctx()
    assert repairs.unfinished_end(ROI + "然后再取整 [1]；", ctx) == ROI
    assert ctx.notices == [repairs.UNFINISHED_TRIMMED]
    ctx = _ctx()
    cut = repairs.unfinished_end("卷积层的参数量计算如下： [1]\n参数量: K×K×Cin×Cout 再加 [1]", ctx)
    assert cut.endswith("…") and not ends_mid_sentence(cut) and ctx.notices == [repairs.UNFINISHED_MARKED]


def test_an_english_rule_echo_goes():
    assert repairs.rule_echo("Attention weighs tokens [1]. Source: [1].", _ctx()).strip() == "Attention weighs tokens [1]."
