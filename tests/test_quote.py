"""The notes' own words under an answer (rag/quote.py), and the model's lead they follow."""
import pytest

from rag.generate import lead_only, lead_written
from rag.grounding import support
from rag.repairs import drop_unheld
from rag.quote import (QUOTE_LABEL, cited_line, closed, opening, own_words, prose_lines, quote_lines, quoted, table_rows,
                       tex_only, unwrap, with_quotes)
from rag.schema import Chunk, Hit, Passage
from rag.text import tokenize
from rag.turn import Turn

SECTION = ("ROIPool 有两次量化：候选框坐标取整，bin 边界再取整。ROIAlign 去掉取整，用双线性插值计算采样点。\n"
           "```python\ndef roi_align(x):\n    return x\n```\n"
           "## 参考\n详见：https://example.com\n"
           "| 方法 | 取整 |\n|---|---|\n| ROIPool | 两次 |\n| ROIAlign | 不取整 |\n")


def _passage(n, text, heading=("roi.md", "ROIAlign 和 ROIPool")):
    chunk = Chunk(str(n), "roi.md", 0, len(text), 1, 9, list(heading), "", text, [])
    return Passage(n, Hit(chunk, 1.0 / n, n), text)


@pytest.mark.parametrize("text, lines", [
    (SECTION, ["ROIPool 有两次量化：候选框坐标取整，bin 边界再取整。ROIAlign 去掉取整，用双线性插值计算采样点。",
               "ROIPool：取整 两次。", "ROIAlign：取整 不取整。"]),                 # no code, heading, link; rows
    ("原理：\n3.\n![图](a.png)\nBN 用滑动均值做推理。", ["BN 用滑动均值做推理。"]),      # labels, bare numbers, images
    ("\x1b[2J\x1b[31m红色\x1b[0m 删除与它重叠的所有框\x07。", ["红色 删除与它重叠的所有框。"]),    # escape codes
    ("> [[ -84. -40. 99. 55.]\n[-176. -88. 191. 103.]\nanchor 是一组矩形框。", ["anchor 是一组矩形框。"]),  # printed arrays
])
def test_only_lines_a_reader_would_quote_are_candidates(text, lines):
    assert prose_lines(text) == lines


def test_each_sentence_is_cited_and_one_the_answer_already_says_is_not_repeated():
    said = set(tokenize("ROIAlign 去掉取整，用双线性插值计算采样点"))
    lines = quote_lines(SECTION, 1, 400, said)
    assert lines[0] == "ROIPool 有两次量化：候选框坐标取整，bin 边界再取整 [1]。"
    assert all("[1]" in line for line in lines) and not any("双线性" in line for line in lines)


def test_a_question_mark_inside_a_title_leaves_no_bare_marker():
    assert cited_line("见论文《Jailbroken: How Does LLM Safety Training Fail?》。比如 Base64。", 1, set()) == \
        "见论文《Jailbroken: How Does LLM Safety Training Fail?》 [1]。比如 Base64 [1]。"


def test_the_notes_own_brackets_are_no_citations_and_inline_code_ends_no_sentence():
    assert quote_lines("ROIAlign 用双线性插值 [3]。参见文献 [12]。", 1, 400) == \
        ["ROIAlign 用双线性插值 `[3]` [1]。参见文献 `[12]` [1]。"]
    assert cited_line("输入：coins = [1, 2, 5], amount = 11", 1, set()) == "输入：coins = `[1, 2, 5]`, amount = 11 [1]"
    assert cited_line("使用 `a != b` 判断不等。然后结束。", 1, set()) == "使用 `a != b` 判断不等 [1]。然后结束 [1]。"
    line = "给你一个整数数组 `coins`，表示面额。返回最少个数。没有组合时返回 `-1`。"
    assert [s.supported for s in support(cited_line(line, 1, set()), {1: line})] == [True, True, True]   # each cited


def test_a_long_first_line_is_cut_to_the_budget_and_still_quoted():
    topics = ["批归一化", "残差连接", "注意力", "位置编码", "学习率预热", "权重衰减", "梯度裁剪", "标签平滑", "数据增强",
              "早停", "混合精度", "知识蒸馏", "模型剪枝", "量化感知训练", "对比学习", "掩码建模", "温度系数", "负采样"]
    line = "".join(f"{t}是训练深度网络时常用的一种技巧，{t}的作用各不相同。" for t in topics)     # one unwrapped line
    quoted_lines = quote_lines(line, 1, 400)
    assert len(quoted_lines) == 1 and quoted_lines[0].startswith("批归一化是") and 100 < len(quoted_lines[0]) < 480


def test_the_budget_ends_at_a_whole_sentence():
    text = "第一句说明 ROIPool 的两次量化。第二句说明 ROIAlign 用双线性插值。第三句很长很长很长很长。"
    assert opening(prose_lines(text), 32) == ["第一句说明 ROIPool 的两次量化。"]
    assert opening(prose_lines(text), 5) == []


@pytest.mark.parametrize("line, tex", [
    ("L=Ltask+λLadv L = L_{task} + \\lambda L_{adv} L=Ltask+λLadv", "$L = L_{task} + \\lambda L_{adv}$"),
    ("Pl=Conv(Cl) P_l = Conv(C_l) Pl=Conv(Cl)", "$P_l = Conv(C_l)$"),
    ("其中 L_{task} 是任务损失", "其中 L_{task} 是任务损失"),              # prose with Chinese stays
    ("a = b", "a = b"),                                                  # no TeX
])
def test_a_formula_copied_three_times_keeps_its_tex(line, tex):
    assert tex_only(line) == tex


def test_wrapped_lines_join_and_list_items_stay_apart():
    wrapped = ["rank 是矩阵的秩，它决定了模型在微调过程中允许学习的新特征的维数。通常，rank 选", "的越小，参数越少。",
               "- 列表项", "短行", "另一行"]
    assert unwrap(["$L = -\\log \\frac{a}{b}$", "其中 sim 为相似度函数"]) == ["$L = -\\log \\frac{a}{b}$", "其中 sim 为相似度函数"]
    assert unwrap(wrapped) == ["rank 是矩阵的秩，它决定了模型在微调过程中允许学习的新特征的维数。通常，rank 选的越小，参数越少。",
                               "- 列表项", "短行", "另一行"]


def test_a_table_row_reads_alone():
    assert table_rows("| 方法 | 维度 | 特点 |\n|---|---|---|\n| One-Hot | 词表大小 | 稀疏 |") == "One-Hot：维度 词表大小，特点 稀疏。"


def test_the_quote_ends_on_a_whole_sentence():
    assert closed(["A 是 B [1]。", "流程如下： [1]"]) == ["A 是 B [1]。"]
    assert closed(["- 提高泛化能力 [1]"]) == ["- 提高泛化能力 [1]。"]
    assert closed(["+ 选 IoU 最高的 anchor [2];"]) == ["+ 选 IoU 最高的 anchor [2]。"]


def test_the_second_section_is_quoted_only_when_about_as_close_to_the_question():
    first, second = _passage(1, "BN 训练时用 batch 统计量。"), _passage(2, "LN 对每个样本归一化。", ("b.md", "LN"))
    assert "[2]" in quoted([first, second], "", {"1": 0.10, "2": 0.09})
    assert "[2]" not in quoted([first, second], "", {"1": 0.10, "2": 0.03})          # a neighbouring topic


def test_the_label_introduces_the_quotes_and_own_words_are_what_is_above_it():
    turn = Turn("BN 推理", "zh", passages=[_passage(1, "BN 推理时用滑动均值。")], mode="llm")
    answer = with_quotes(turn, "BN 推理用全局统计量 [1]。")
    assert answer == f"BN 推理用全局统计量 [1]。\n\n{QUOTE_LABEL['zh']}\nBN 推理时用滑动均值 [1]。"
    assert own_words(answer) == "BN 推理用全局统计量 [1]。"
    assert with_quotes(Turn("BN", "zh", passages=turn.passages, mode="extractive"), "x") == "x"


@pytest.mark.parametrize("raw, lead", [
    ("ROIAlign 不取整 [1]。\n\n**代码**：\n```py\nx\n```", "ROIAlign 不取整 [1]。"),           # a second paragraph
    ("ROIAlign 不取整 [1]。\n```py\nx = 1", "ROIAlign 不取整 [1]。"),                          # code
    ("**作用**：\n\n• 自动化标注 [1]。\n\n• 数据扩展 [1]。", "**作用**：\n\n• 自动化标注 [1]。"),  # a label is no answer yet
])
def test_the_lead_is_the_first_paragraph_that_says_something(raw, lead):
    assert lead_only(raw) == lead


def test_generation_stops_when_the_lead_is_written():
    assert lead_written("A 是 B [1]。C 是 D [1]。E 是 F [1]。")                 # three sentences
    assert not lead_written("A 是 B [1]。C 是 D [1]。E 是")                      # the third still being written
    assert lead_written("A 是 B [1]。\n\nC") and lead_written("A [1]。\n```")
    assert not lead_written("A 是 B [1]。\n\n")


def test_a_chinese_sentence_the_notes_do_not_hold_is_left_out():
    notes = {1: "MobileNet 使用深度可分离卷积减少计算量。"}
    text, n = drop_unheld("MobileNet 用深度可分离卷积减少计算量 [1]。MobileNet 使用了残差块结构 [1]。\n1.", notes)
    assert (text, n) == ("MobileNet 用深度可分离卷积减少计算量 [1]。", 1)
    english = "MobileNet uses residual blocks [1]."
    assert drop_unheld(english, notes) == (english, 0)                             # judged by vectors: kept, marked


def test_a_semicolon_clause_is_part_of_its_sentence():
    sentences = support("速度快；精度高 [1]。", {1: "One-Stage 速度快；Two-Stage 精度高。"})
    assert len(sentences) == 1 and sentences[0].supported
