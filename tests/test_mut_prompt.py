"""rag.prompt behaviours pinned down after `make mutation` showed them unchecked."""
import pytest

from rag import prompt
from rag.schema import Chunk, CodeSnippet, Hit, Passage


def _chunk(cid, text, source="n.md", heading=("n", "q"), start=0, code=()):
    return Chunk(cid, source, start, start + len(text), 1, 1, list(heading), heading[-1], text, list(code))


def _hit(cid, text, rank=1, **kw):
    return Hit(_chunk(cid, text, **kw), 1.0 / rank, rank)


def per_char(text):
    return len(text)


# ---- token estimates and trimming ------------------------------------------------------------------

@pytest.mark.parametrize("text, tokens", [("", 1), ("abcde", 2), ("abcdefgh", 3), ("层层层层abcd", 6), ("BN层和LN层", 5)])
def test_approx_tokens_is_one_per_cjk_character_plus_a_quarter_of_the_rest_plus_one(text, tokens):
    assert prompt.approx_tokens(text) == tokens and isinstance(prompt.approx_tokens(text), int)


def test_text_exactly_at_the_budget_is_not_trimmed():
    assert prompt.trim_to_tokens("abcd", 4, per_char) == "abcd"


def test_a_budget_too_small_for_any_text_leaves_only_the_ellipsis():
    assert prompt.trim_to_tokens("abcdef", 0, per_char) == "…"


def test_trimmed_text_has_no_space_before_the_ellipsis():
    assert prompt.trim_to_tokens(" ab   cdefgh", 6, per_char) == " ab…"


# ---- code left out of passages ----------------------------------------------------------------------

def test_without_code_drops_fences_and_snippets_and_squeezes_blank_lines():
    fenced = _chunk("1", "甲。\n\n```py\nx = 1\n```\n\n\n\n乙。\n\n")
    assert prompt.without_code(fenced) == "甲。\n\n乙。"
    code = "import os\nos.sep"
    glued = _chunk("2", f"用法：\n{code}\n\n\n说明。", code=[CodeSnippet("python", code, 0, 1, 1, 2)])
    assert prompt.without_code(glued) == "用法：\n\n说明。"


# ---- merging the chunks of one section --------------------------------------------------------------

def test_merge_keeps_sections_of_other_files_apart_and_carries_their_copies():
    a2 = _hit("a2", "第二段。", 1, start=50, code=[CodeSnippet("python", "y = 2", 60, 65, 3, 3)])
    a1 = _hit("a1", "第一段。", 2, start=0, code=[CodeSnippet("python", "x = 1", 5, 10, 1, 1)])
    a1.also_in.append("copy.md:1-2")
    a2.also_in.append("copy.md:3-4")
    other = _hit("b", "别的文件。", 3, source="m.md")
    merged = prompt.merge_sections([a2, other, a1])
    assert [h.chunk.id for h in merged] == ["a1", "b"]
    first = merged[0]
    assert (first.score, first.rank) == (a2.score, 1)
    assert first.also_in == ["copy.md:3-4", "copy.md:1-2"]
    assert [s.code for s in first.chunk.code] == ["x = 1", "y = 2"]
    assert (first.chunk.start, first.chunk.end) == (0, 54)
    assert (first.chunk.source, first.chunk.heading, first.chunk.question) == ("n.md", ["n", "q"], "q")
    assert first.chunk.text == "第一段。\n第二段。"
    assert merged[1] is other


# ---- compacting a passage to the question ----------------------------------------------------------

def test_compact_keeps_everything_that_fits():
    text = "一句。二句。三句。"
    assert prompt.compact(text, set(), 100, per_char) == text


def test_compact_prefers_sentences_with_more_question_terms_after_the_opening():
    text = "开头一。开头二。无关。lora 秩。lora 秩 初始化。"
    terms = {"lora", "秩", "初始化"}
    # ranked: 3 terms (11 chars), 2 terms (7), the two openings (4 each), the rest (3); greedy, kept in text order
    assert prompt.compact(text, terms, 11, per_char) == "lora 秩 初始化。"
    assert prompt.compact(text, terms, 15, per_char) == "开头一。lora 秩 初始化。"
    assert prompt.compact(text, terms, 21, per_char) == "无关。lora 秩。lora 秩 初始化。"


def test_compact_falls_back_to_a_trimmed_prefix_when_no_sentence_fits():
    assert prompt.compact("这是一个很长的句子。", {"句子"}, 4, per_char) == "这是一个…"


def test_compact_counts_with_the_given_tokenizer():
    text = "aaaa aaaa aaaa。bbbb bbbb bbbb。"
    assert prompt.approx_tokens("aaaa aaaa aaaa。") == 4
    assert prompt.compact(text, set(), 8) == text
    assert prompt.compact(text, set(), 6) == "aaaa aaaa aaaa。"
    assert prompt.compact(text, set(), 6, per_char) == "aaaa a…"


# ---- selecting passages ---------------------------------------------------------------------------

def test_the_best_passage_gets_its_share_of_the_budget():
    hits = [_hit("1", "甲" * 100 + "。", 1)]
    [p] = prompt.select_passages(hits, 100, per_char)
    assert p.body == "甲" * int(100 * prompt.FIRST_SHARE) + "…"    # the share in characters, then the ellipsis


def test_later_passages_get_half_of_what_is_left_and_are_numbered_in_order():
    hits = [_hit("1", "lora 秩。", 1, source="a.md"), _hit("2", "无关内容。", 2, source="b.md"),
            _hit("3", "lora " * 30 + "秩。", 3, source="c.md"), _hit("4", "秩 " * 60 + "。", 4, source="d.md")]
    passages = prompt.select_passages(hits, 200, per_char, question="lora 的秩")
    # 2 shares no word with the question; 3 gets (200 - 7) // 2 = 96 characters, 4 gets (193 - 97) // 2 = 48
    assert [(p.n, p.hit.chunk.id) for p in passages] == [(1, "1"), (2, "3"), (3, "4")]
    assert [len(p.body) for p in passages] == [7, 97, 48]


def test_a_passage_whose_share_is_exactly_the_minimum_is_kept():
    hits = [_hit("1", "lora " * 60 + "。", 1, source="a.md"), _hit("2", "lora 秩。", 2, source="b.md")]
    seen = set()
    for budget in range(100, 400):
        sizes = [len(p.body) for p in prompt.select_passages(hits, budget, per_char, question="lora")]
        share = (budget - sizes[0]) // 2           # what the second passage is offered
        assert (len(sizes) == 2) == (share >= prompt.PASSAGE_MIN_TOKENS), budget
        seen.add(share - prompt.PASSAGE_MIN_TOKENS)
    assert {-1, 0} <= seen                         # both sides of the edge were tried


def test_an_empty_passage_is_skipped_even_first():
    hits = [_hit("1", "```\ncode only\n```", 1, source="a.md"), _hit("2", "lora 的秩。", 2, source="b.md")]
    passages = prompt.select_passages(hits, 200, per_char, question="lora")
    assert [(p.n, p.hit.chunk.id) for p in passages] == [(1, "2")]


# ---- the messages ---------------------------------------------------------------------------------

def _passages():
    return [Passage(1, _hit("1", "x", source="a.md", heading=("a", "问一")), "正文一"),
            Passage(2, _hit("2", "y", source="b.md", heading=("b", "问二")), "正文二")]


def test_chinese_question_messages_follow_the_templates_exactly():
    sources = "[1] 问一\n正文一\n\n[2] 问二\n正文二"            # headings without the file's own name
    messages = prompt.build_messages("  什么是NMS？ \n", _passages())
    assert messages == [
        {"role": "system", "content": prompt.template("system").strip()},
        {"role": "user", "content": prompt.template("user").format(sources=sources, question="什么是NMS？")},
    ]


def test_english_question_messages_ask_for_an_english_answer():
    messages = prompt.build_messages("What is NMS?", _passages())
    assert messages == [
        {"role": "system", "content": prompt.template("system_en").strip()},
        {"role": "user", "content": prompt.template("user_en").format(
            sources="[1] 问一\n正文一\n\n[2] 问二\n正文二", question="What is NMS?")},
    ]


# ---- code spans, markers -------------------------------------------------------------------------

def test_split_code_without_inline_leaves_backticks_in_prose():
    assert prompt.split_code("a `x` b", inline=False) == [("a `x` b", False)]


def test_split_code_has_no_empty_parts_at_either_end():
    assert prompt.split_code("`x` b") == [("`x`", True), (" b", False)]
    assert prompt.split_code("a `x`") == [("a ", False), ("`x`", True)]


def test_prose_blanks_code_keeping_offsets():
    assert prompt.prose("a `x[1]` b [2]") == "a        b [2]"


def test_check_citations_rewrites_lists_and_keeps_code_untouched():
    text, valid, invalid = prompt.check_citations("见 `x[1]` 与 [1, 2] 。结论【2、5】。", n_sources=2)
    assert text == "见 `x[1]` 与 [1][2]。结论[2]。"
    assert valid == [1, 2] and invalid == 1


# ---- attribution ---------------------------------------------------------------------------------

def test_cite_puts_the_marker_before_the_closing_punctuation_and_keeps_trailing_space():
    assert prompt.cite("甲乙。\n", 2) == "甲乙 [2]。\n"
    assert prompt.cite("Use ONNX.", 1) == "Use ONNX [1]."


def test_attribute_treats_inline_code_as_part_of_the_sentence():
    text, added = prompt.attribute("ROIAlign 使用 `align_corners` 参数对齐像素中心。", lambda s: 1)
    assert text == "ROIAlign 使用 `align_corners` 参数对齐像素中心 [1]。" and added == 1


def test_attribute_counts_markers_added_on_both_sides_of_a_code_block():
    text, added = prompt.attribute("第一句很长的内容。\n```\nx = 1\n```\n第二句很长的内容。", lambda s: 2)
    assert text == "第一句很长的内容 [2]。\n```\nx = 1\n```\n第二句很长的内容 [2]。" and added == 2


def test_attribute_keeps_whitespace_only_text():
    assert prompt.attribute("\n\n", lambda s: 1) == ("\n\n", 0)


def test_attribute_skips_cited_and_short_sentences_but_cites_six_characters():
    text, added = prompt.attribute("甲乙丙丁戊己 [2]。好的。甲乙丙丁戊。", lambda s: 1)
    assert text == "甲乙丙丁戊己 [2]。好的。甲乙丙丁戊 [1]。" and added == 1


def test_lexical_chooser_needs_two_shared_terms_and_half_of_them_in_a_passage():
    passages = [Passage(1, _hit("1", "alpha beta gamma delta"), "alpha"), Passage(2, _hit("2", "omega"), "omega")]
    choose = prompt.lexical_chooser(passages)
    assert choose("alpha") is None                            # one term: too few to tell
    assert choose("alpha zeta") is None                       # half, but one term shared
    assert choose("alpha beta") == 1                          # both terms, in the passage's whole text
    assert choose("alpha beta gamma") == 1                    # three terms, all in passage 1
    assert choose("alpha beta zeta eta") == 1                 # exactly half
    assert choose("alpha zeta eta theta") is None             # a quarter
    assert prompt.lexical_chooser([])("alpha beta gamma") is None
