"""Numbered passages, marker parsing and checking, attribution: pure functions on crafted text."""
from rag import prompt
from rag.schema import Chunk, CodeSnippet, Hit, Passage


def _hit(n, text, code=()):
    return Hit(Chunk(str(n), f"f{n}.md", 0, len(text), 1, 2, [f"f{n}", f"问题{n}"], f"问题{n}", text, list(code)), 1.0, n)


def test_marker_parsing_handles_lists_and_fullwidth_brackets():
    assert prompt.parse_markers("用双线性插值[2]，【1】、[1, 3] 与 [4，5]") == [2, 1, 1, 3, 4, 5]


def test_invalid_markers_are_removed_and_counted():
    text, valid, invalid = prompt.check_citations("A [1]。B [7]。C【2】。D [2, 9]", n_sources=2)
    assert text == "A [1]。B。C[2]。D [2]" and valid == [1, 2] and invalid == 2


def test_markers_inside_code_are_code_not_citations():
    answer = "用索引 [1]。\n```python\ny = x[7] + x[1], 2\n```\n行内 `a[3]` 也是代码。"
    text, valid, invalid = prompt.check_citations(answer, n_sources=2)
    assert "y = x[7] + x[1], 2" in text and "`a[3]`" in text
    assert valid == [1] and invalid == 0
    assert prompt.parse_markers(answer) == [1]


def test_split_code_covers_the_text_and_marks_code():
    text = "a [1] `x[2]` b\n~~~\n```\nstill code [3]\n~~~\nend"
    parts = prompt.split_code(text)
    assert "".join(p for p, _ in parts) == text
    assert [p for p, code in parts if code] == ["`x[2]`", "~~~\n```\nstill code [3]\n~~~"]


def test_passages_share_the_budget_best_first_and_keep_only_related_text():
    hits = [_hit(1, "BN 训练时用 batch 统计量。" * 40), _hit(2, "BN 推理时用全局统计量。" * 40),
            _hit(3, "天气很好。" * 40), _hit(4, "BN 和 LN 的区别在归一化的维度。" * 40)]
    passages = prompt.select_passages(hits, 400, question="BN 推理")
    assert [p.n for p in passages] == [1, 2, 3] and [p.hit.chunk.id for p in passages] == ["1", "2", "4"]
    sizes = [prompt.approx_tokens(p.body) for p in passages]
    assert sum(sizes) <= 400 and sizes[0] > sizes[1] > sizes[2]
    messages = prompt.build_messages("BN 是什么?", passages)
    assert "[1] 问题1\n" in messages[1]["content"] and "用中文" in messages[1]["content"]
    english = prompt.build_messages("What is BN?", passages)
    assert "in English" in english[1]["content"] and "always in English" in english[0]["content"]


def test_chunks_of_one_section_become_one_passage_spanning_them():
    first = Chunk("a", "s.md", 0, 10, 1, 2, ["s", "q"], "q", "ROIAlign 用双线性插值。")
    later = Chunk("b", "s.md", 10, 30, 3, 6, ["s", "q"], "q", "ROIPool 取整两次。")
    other = Chunk("c", "t.md", 0, 9, 1, 1, ["t", "r"], "r", "NMS 删除重叠框。")
    merged = prompt.merge_sections([Hit(later, 0.9, 1), Hit(other, 0.8, 2), Hit(first, 0.7, 3)])
    assert [h.chunk.id for h in merged] == ["a", "c"] and merged[0].rank == 1
    assert merged[0].chunk.text == "ROIAlign 用双线性插值。\nROIPool 取整两次。"
    assert (merged[0].chunk.line_start, merged[0].chunk.line_end, merged[0].chunk.end) == (1, 6, 30)


def test_compact_keeps_the_opening_and_the_matching_sentences_in_order():
    text = "开头回答。第二句。无关一。无关二。提到 dropout 的句子。无关三。"
    assert prompt.compact(text, {"dropout"}, 18) == "开头回答。第二句。提到 dropout 的句子。"


def test_compact_keeps_a_list_items_number_with_its_text():
    text = "流程：\n1. 数据分成 K 份。\n2. 轮流训练模型。\n3. K 次结果取平均。"
    assert prompt.compact(text, {"平均"}, 30, len) == "流程：\n1. 数据分成 K 份。\n3. K 次结果取平均。"


def test_trimming_counts_with_the_given_tokenizer():
    def per_char(text):
        return len(text)
    assert prompt.trim_to_tokens("abcdefghij", 4, per_char) == "abcd…"
    assert prompt.trim_to_tokens("abc", 4, per_char) == "abc"


def test_attribution_cites_sentences_copied_from_one_passage():
    passages = [Passage(1, _hit(1, "ROIAlign 通过双线性插值避免量化误差。"), "ROIAlign 通过双线性插值避免量化误差。"),
                Passage(2, _hit(2, "BN 推理时使用全局均值和方差。"), "BN 推理时使用全局均值和方差。")]
    text, added = prompt.attribute("ROIAlign 通过双线性插值避免量化误差。天气很好。", prompt.lexical_chooser(passages))
    assert text == "ROIAlign 通过双线性插值避免量化误差 [1]。天气很好。" and added == 1


def test_labels_and_headings_get_no_citation():
    passages = [Passage(1, _hit(1, "梯度消失：梯度随层数增加趋近于 0。缓解梯度消失的方法有残差连接。"), "")]
    answer = "1. **梯度消失的解释**\n梯度随层数增加趋近于 0。\n2. **缓解梯度消失的方法**：\n- 残差连接。"
    text, added = prompt.attribute(answer, prompt.lexical_chooser(passages))
    assert text == "1. **梯度消失的解释**\n梯度随层数增加趋近于 0 [1]。\n2. **缓解梯度消失的方法**：\n- 残差连接 [1]。"
    assert added == 2


def test_an_index_in_inline_code_is_no_citation_marker():
    passages = [Passage(1, _hit(1, "初始化时 dp[0] 设为 0，其余设为 amount+1。"), "")]
    text, added = prompt.attribute("初始化时 `dp[0]` 设为 0，其余设为 amount+1。", prompt.lexical_chooser(passages))
    assert text == "初始化时 `dp[0]` 设为 0，其余设为 amount+1 [1]。" and added == 1


def test_code_is_left_out_of_the_prompt_and_the_snippet_stays_on_the_chunk():
    fenced = _hit(1, "ROIAlign 用插值。\n```python\ndef roi_align(x):\n    return x\n```\n结束。")
    glued_code = "class FPN:\n    pass"
    glued = _hit(2, f"FPN 代码：\n{glued_code}\n", [CodeSnippet("python", glued_code, 0, 9, 1, 2)])
    assert prompt.without_code(fenced.chunk) == "ROIAlign 用插值。\n\n结束。"
    assert prompt.without_code(glued.chunk) == "FPN 代码："
    body = prompt.build_messages("FPN 代码", prompt.select_passages([fenced, glued], 500, question="FPN 代码"))[1]["content"]
    assert "def roi_align" not in body and "class FPN" not in body
    assert glued.chunk.code[0].code == glued_code


def test_labels_with_nothing_under_them_leave_the_prompt_and_the_answer():
    body = "原理说明：\nA 是 B。\n代码：\n\n应用场景：\n- 检测\n核心代码：\n阿里在用。"
    assert prompt.drop_dangling_labels(body) == "原理说明：\nA 是 B。\n\n应用场景：\n- 检测\n阿里在用。"
    with_code = "代码：\n```python\nif x:\n    pass\nelse:\n```"
    assert prompt.drop_dangling_labels(with_code) == with_code       # code lines are never labels
    assert prompt.drop_dangling_labels("FPN 代码：") == "FPN 代码："    # all there is: kept
