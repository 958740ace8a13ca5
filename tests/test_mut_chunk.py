"""ingest.chunk: budgets, code units and raw offsets (pinned down after `make mutation`)."""
import pytest

from ingest.chunk import (BUDGET_TOKENS, LineIndex, Unit, _split_long, code_regions, est_tokens, pack,
                          section_units)
from ingest.clean import clean
from ingest.code import fenced_blocks
from ingest.document import parse_text
from ingest.structure import Section


@pytest.mark.parametrize("text, tokens", [("", 1), ("卷积 conv layer", 5), ("卷积", 3), ("a b c d e f g h i j", 14)])
def test_est_tokens_is_one_per_cjk_character_and_1_3_per_latin_word_plus_one(text, tokens):
    assert est_tokens(text) == tokens


def test_line_index_maps_offsets_to_one_based_lines():
    lines = LineIndex("ab\ncd\n\nef")
    assert [lines.line(i) for i in range(9)] == [1, 1, 1, 2, 2, 2, 3, 4, 4]


def test_code_regions_are_fences_in_markdown_and_python_runs_in_plain_text():
    fenced = "说明\n```\nx = 1\n```\n"
    unfenced = "说明\nimport os\nx = os.getcwd()\n"
    assert code_regions(fenced, True) == [(3, len(fenced), "text")]
    assert code_regions(unfenced, True) == []
    assert code_regions(unfenced, False) == [(3, len(unfenced), "python")]


# ---- units of a section --------------------------------------------------------------------------

def _units(text, sec, regions):
    doc = clean(text)
    return [(u.start, u.end, u.code is not None) for u in section_units(sec, doc, regions, LineIndex(text))]


def test_section_units_skip_regions_outside_and_keep_every_unit_inside():
    text = "甲。\n```\nx = 1\n```\n乙。\n```\ny = 2\n```\n丙。\n"
    regions = fenced_blocks(text)
    (a1, b1, _), (a2, b2, _) = regions
    inside = Section(["t"], "", 0, b1, len(text))           # body starts after the first block
    units = _units(text, inside, regions)
    assert units == [(b1, a2, False), (a2, b2, True), (b2, len(text), False)]
    whole = Section(["t"], "", 0, 0, len(text))
    assert _units(text, whole, regions) == [(0, a1, False), (a1, b1, True), (b1, a2, False), (a2, b2, True), (b2, len(text), False)]
    before = Section(["t"], "", 0, 0, a2)                    # ends where the second block starts
    assert _units(text, before, regions) == [(0, a1, False), (a1, b1, True), (b1, a2, False)]


def test_a_long_sentence_is_cut_into_pieces_that_fill_the_budget():
    sentence = "深度学习模型的训练需要大量数据" * 50                    # 750 characters, no sentence end
    pieces = _split_long(sentence, 0, len(sentence))
    assert "".join(u.text for u in pieces) == sentence and len(pieces) == 3
    # cut_at_word's limit is in characters: each cut lands on a word end at most BUDGET_TOKENS characters on
    assert all(BUDGET_TOKENS - 8 <= len(u.text) <= BUDGET_TOKENS for u in pieces[:-1])
    assert [(u.start, u.end) for u in pieces] == [(0, pieces[0].end), (pieces[0].end, pieces[1].end), (pieces[1].end, 750)]


def test_a_sentence_exactly_at_the_budget_stays_whole():
    sentence = "a " * 245 + "a"                       # 246 words: int(246 * 1.3) + 1 = 320 tokens
    assert est_tokens(sentence) == BUDGET_TOKENS
    assert [(u.start, u.end) for u in _split_long(sentence, 0, len(sentence))] == [(0, len(sentence))]
    longer = sentence + " a"
    assert len(_split_long(longer, 0, len(longer))) == 2


# ---- code units ----------------------------------------------------------------------------------

def _code(raw, source="a.md"):
    doc = parse_text(source, raw)
    return [(c, s) for c in doc.chunks for s in c.code]


def test_fenced_code_snippet_is_the_inner_lines_located_in_the_raw_file():
    raw = "## 怎么写？\n\n说明。\n\n```js\nfunction f() {\n  return 1;\n}\n```\n"
    [(chunk, s)] = _code(raw)
    assert (s.language, s.code) == ("js", "function f() {\n  return 1;\n}")
    assert raw[s.start:s.end] == s.code
    assert (s.line_start, s.line_end) == (6, 8)
    assert "```js\nfunction f() {" in chunk.text and chunk.text.endswith("}\n```")


def test_tilde_and_indented_fences_are_dropped_from_the_snippet_but_kept_in_the_chunk():
    [(tilde_chunk, tilde)] = _code("## 问？\n\n~~~\nx = 1\n~~~\n")
    assert tilde.code == "x = 1" and tilde_chunk.text == "~~~\nx = 1\n~~~"
    [(indented_chunk, indented)] = _code("## 问？\n\n  ```\n  y = 2\n  ```\n")
    assert indented.code == "  y = 2" and indented_chunk.text == "```\n  y = 2\n  ```"


def test_an_unclosed_fence_keeps_its_last_line():
    [(_, s)] = _code("## 问？\n\n```python\nx = 1")
    assert s.code == "x = 1"


def test_untagged_fences_with_python_are_python_other_languages_stay():
    [(_, untagged)] = _code("## 问？\n\n```\ndef f():\n    return 1\n```\n")
    [(_, js)] = _code("## 问？\n\n```js\nimport x from 'y'\n```\n")
    [(_, text)] = _code("## 问？\n\n```\nls -la\n```\n")
    assert (untagged.language, js.language, text.language) == ("python", "js", "text")


def test_glued_plain_text_code_is_restored_and_becomes_the_chunk_text():
    glued = "import torch.nn as nnclass FPN(nn.Module):def __init__(self):super().__init__()self.conv = nn.Conv2d(3, 8, 1)"
    raw = f"什么是FPN？\n特征金字塔。\n{glued}\n结束。\n"
    [(chunk, s)] = _code(raw, "a.txt")
    assert s.code.startswith("import torch.nn as nn\nclass FPN(nn.Module):\n    def __init__(self):")
    assert chunk.text == f"特征金字塔。\n{s.code}\n结束。"
    assert raw[s.start:s.end] == glued and (s.line_start, s.line_end) == (3, 3)


def test_raw_spans_end_at_the_last_kept_character_not_after_a_stripped_tag():
    raw = "什么是FPN？\n说明。\nimport os\nx = os.getcwd()<br>\n结束。\n"
    [(_, s)] = _code(raw, "b.txt")
    assert raw[s.start:s.end] == "import os\nx = os.getcwd()" and (s.line_start, s.line_end) == (3, 4)
    tagged = "## 问？\n\n答案是 ROIAlign<br>\n"
    [chunk] = parse_text("c.md", tagged).chunks
    assert tagged[chunk.start:chunk.end] == "答案是 ROIAlign"


# ---- packing -------------------------------------------------------------------------------------

def _u(n_cjk, code=False):
    from rag.schema import CodeSnippet
    return Unit(0, 0, "甲" * n_cjk, CodeSnippet("text", "x", 0, 1, 1, 1) if code else None)


def _sizes(groups):
    return [[est_tokens(u.text) for u in g] for g in groups]


def test_pack_fills_a_group_up_to_exactly_the_budget():
    assert _sizes(pack([_u(159), _u(159)])) == [[160, 160]]
    assert _sizes(pack([_u(199), _u(159), _u(159)])) == [[200], [160, 160]]
    assert _sizes(pack([_u(199), _u(199), _u(199)])) == [[200], [200], [200]]


def test_a_small_prose_tail_joins_the_last_group_a_code_tail_does_not():
    assert _sizes(pack([_u(299), _u(299), _u(299), _u(29)])) == [[300], [300], [300, 30]]
    assert _sizes(pack([_u(299), _u(58)])) == [[300, 59]]
    assert _sizes(pack([_u(299), _u(59)])) == [[300], [60]]
    assert _sizes(pack([_u(299), _u(29, code=True)])) == [[300], [30]]


# ---- chunks --------------------------------------------------------------------------------------

def test_a_symbols_only_group_is_skipped_and_later_groups_still_become_chunks():
    first, second = "甲" * 319 + "。", "乙" * 319 + "。"
    assert est_tokens(first) == BUDGET_TOKENS
    raw = f"## 问？\n\n{first}\n\n```\n---\n```\n\n{second}\n"
    chunks = parse_text("a.md", raw).chunks
    assert [c.text for c in chunks] == [first, second]


def test_chunk_fields_locate_the_trimmed_text_in_the_raw_file():
    raw = "## 问？\n\n 第一行。\n完\n\n## 再问？\n\n答。\n"
    chunks = parse_text("notes/a.md", raw).chunks
    assert [c.text for c in chunks] == ["第一行。\n完", "答。"]
    for c in chunks:
        assert raw[c.start:c.end] == c.text and c.source == "notes/a.md"
        assert len(c.id) == 16 and int(c.id, 16) >= 0
    assert [(c.line_start, c.line_end) for c in chunks] == [(3, 4), (8, 8)]
    again = parse_text("other/a.md", raw).chunks
    assert chunks[0].id != chunks[1].id and chunks[0].id != again[0].id
    assert [c.id for c in parse_text("notes/a.md", raw).chunks] == [c.id for c in chunks]
