"""ingest.structure: how question sections are found in markdown and plain text (pinned by `make mutation`)."""
import pytest

from ingest.structure import Section, find_headings, sections


def _titles(text, markdown=False, **kw):
    return [title for _, _, _, title in find_headings(text, markdown, **kw)]


# ---- markdown ------------------------------------------------------------------------------------

def test_hash_lines_inside_a_code_fence_are_not_headings():
    text = "## 怎么导出？\n```python\n# 不是标题\nx = 1\n```\n## 怎么加载？\n答。\n```\n# 也不是\n```\n# 是标题\n"
    assert _titles(text, markdown=True) == ["怎么导出？", "怎么加载？", "是标题"]


def test_heading_titles_lose_bold_markers_but_keep_their_last_letter():
    text = "## **什么是 NMS？**\n答。\n## 如何导出 ONNX\n答。\n### X\n答。\n"
    assert _titles(text, markdown=True) == ["什么是 NMS？", "如何导出 ONNX", "X"]


def test_tagged_headings_outrank_plain_hash_headings():
    text = "## 问题一\n# 答案里的小标题\n内容\n## 问题二\n内容\n"
    tagged = {0, text.index("## 问题二")}
    heads = find_headings(text, True, strong=lambda start: start in tagged)
    assert [(a, level, title) for a, _, level, title in heads] == [(0, 2, "问题一"), (text.index("## 问题二"), 2, "问题二")]
    assert _titles(text, markdown=True) == ["问题一", "答案里的小标题", "问题二"]


# ---- plain text: tagged questions ----------------------------------------------------------------

def test_tagged_questions_are_level_two_headings_and_win_over_other_forms():
    text = "问题1：什么是IoU\n交并比。\n问题2：什么是NMS\n去重。\n问题3：什么是mAP\n平均精度。\n1. 不相关\n"
    heads = find_headings(text, False)
    assert [(level, title) for _, _, level, title in heads] == [
        (2, "问题1：什么是IoU"), (2, "问题2：什么是NMS"), (2, "问题3：什么是mAP")]
    assert heads[0][:2] == (0, text.index("交并比"))


def test_a_tagged_line_of_160_characters_is_too_long_to_be_a_heading():
    long = "问题1：" + "长" * 156
    assert len(long) == 160
    assert _titles(long + "\n答。\n" + "问题2：" + "长" * 155 + "\n答。\n") == ["问题2：" + "长" * 155]


# ---- plain text: numbered questions --------------------------------------------------------------

def test_numbered_questions_end_at_the_question_mark():
    text = ("1. RNN 和 LSTM 的区别是什么? LSTM 有门控。\n2. 什么是梯度消失？反向传播时梯度变小。\n"
            "3. 怎么缓解？用残差连接。\n")
    heads = find_headings(text, False)
    assert [title for *_, title in heads] == ["1. RNN 和 LSTM 的区别是什么?", "2. 什么是梯度消失？", "3. 怎么缓解？"]
    first_end = text.index("?") + 1
    assert heads[0] == (0, first_end, 2, "1. RNN 和 LSTM 的区别是什么?")
    assert text[heads[1][0]:heads[1][1]] == "2. 什么是梯度消失？"


def test_three_numbered_questions_are_enough_without_a_title_chain():
    text = "1. 什么是卷积？\n答。\n2. 什么是池化？\n答。\n3. 什么是全连接？\n答。\n"
    heads = find_headings(text, False)
    assert [title for *_, title in heads] == ["1. 什么是卷积？", "2. 什么是池化？", "3. 什么是全连接？"]
    assert all(text[b - 1] == "？" for _, b, _, _ in heads)


def test_fewer_than_three_numbered_questions_are_joined_by_a_numbered_title_chain():
    text = "5. 什么是卷积？局部连接。\n1. 池化层\n降采样。\n2. 全连接层\n分类。\n3. 激活函数\n非线性。\n"
    assert _titles(text) == ["5. 什么是卷积？", "1. 池化层", "2. 全连接层", "3. 激活函数"]


# ---- plain text: numbered title chains -----------------------------------------------------------

CHAIN = ("1. 卷积层\n提取局部特征。\n2. 池化层\n有两种：\n1. 最大池化\n2. 平均池化\n"
         "3. 全连接层\n映射到类别。\n4. 激活函数\n引入非线性。\n")


def test_the_first_longest_numbered_chain_gives_the_headings():
    heads = find_headings(CHAIN, False)
    assert [title for *_, title in heads] == ["1. 卷积层", "2. 池化层", "3. 全连接层", "4. 激活函数"]
    assert {level for _, _, level, _ in heads} == {2}
    assert heads[0][:2] == (0, len("1. 卷积层\n"))


def test_a_stray_number_before_the_chain_does_not_hide_it():
    assert _titles("3. 前言\n介绍。\n" + CHAIN)[:2] == ["1. 卷积层", "2. 池化层"]


def test_a_chain_needs_three_titles():
    assert _titles("1. 卷积层\n内容。\n2. 池化层\n内容。\n") == []
    assert _titles("1. 卷积层\n内容。\n2. 池化层\n内容。\n3. 全连接\n内容。\n") == ["1. 卷积层", "2. 池化层", "3. 全连接"]


@pytest.mark.parametrize("ending", ["。", "；", ";", "，", "；  "])
def test_numbered_lines_ending_like_sentences_are_not_titles(ending):
    assert _titles(f"1. 卷积层\n内容\n2. 池化层{ending}\n内容\n3. 全连接\n内容\n") == []


def test_numbered_titles_may_be_80_characters_but_not_81():
    def doc(n):
        second = "2. " + "长" * (n - 3)
        assert len(second) == n
        return f"1. 卷积层\n内容\n{second}\n内容\n3. 全连接\n内容\n"
    assert len(_titles(doc(80))) == 3
    assert _titles(doc(81)) == []


# ---- plain text: question lines ------------------------------------------------------------------

def test_short_question_lines_are_headings_unless_they_look_like_code():
    text = "什么是批归一化？\n答。\nprint(x) 会输出什么？\n答。\n为什么要用残差连接?\n答。\n普通的一行文字\n"
    heads = find_headings(text, False)
    assert [(level, title) for *_, level, title in heads] == [(2, "什么是批归一化？"), (2, "为什么要用残差连接?")]


# ---- sections ------------------------------------------------------------------------------------

def test_a_document_without_headings_is_one_section_named_by_its_title():
    text = "只有一段普通文字，没有问题。\n"
    assert sections(text, "笔记", False) == [Section(["笔记"], "", 0, 0, len(text))]
    assert sections("   \n", "笔记", False) == []


def test_text_before_the_first_heading_is_a_preamble_section():
    text = "前言。\n## 问一？\n答一。\n## 问二？\n答二。\n"
    q1, q2 = text.index("## 问一"), text.index("## 问二")
    assert sections(text, "t", True) == [
        Section(["t"], "", 0, 0, q1),
        Section(["t", "问一？"], "问一？", q1, q1 + len("## 问一？\n"), q2),
        Section(["t", "问二？"], "问二？", q2, q2 + len("## 问二？\n"), len(text)),
    ]


def test_no_preamble_when_the_document_opens_with_a_heading_and_siblings_replace_each_other():
    text = "## 甲？\n答。\n## 乙？\n答。\n### 乙的细节\n细节。\n## 丙？\n"
    assert [s.path for s in sections(text, "t", True)] == [["t", "甲？"], ["t", "乙？"], ["t", "乙？", "乙的细节"]]


def test_plain_text_sections_use_plain_rules_and_markdown_sections_honour_tags():
    plain = "# 这不是标题\n什么是 BN？\n答。\n"
    assert [s.question for s in sections(plain, "t", False)] == ["", "什么是 BN？"]
    md = "## 问一\n# 小标题\n内容。\n"
    assert [s.question for s in sections(md, "t", True, strong=lambda start: start == 0)] == ["问一"]
