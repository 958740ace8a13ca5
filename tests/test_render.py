"""One rendering of an answer: the same rows and words everywhere, escaped for where it is shown."""
import pytest

from rag import render
from rag.grounding import Sentence
from rag.schema import Answer, Chunk, Citation, CodeRef, CodeSnippet, Hit, Markers

TIMINGS = {"retrieve_ms": 1.0, "first_token_ms": 2.0, "total_ms": 3.0, "tokens_per_s": 0.0}


def _chunk(title="<img src=x onerror=alert(1)>", text="ROIAlign 用双线性插值。<form><input type=password></form>"):
    return Chunk("1", "<b>notes</b>.md", 0, len(text), 3, 4, [title], title, text,
                 [CodeSnippet("python", "x = '```'\nprint(x)", 0, 5, 5, 6)])


def _answer(mode="llm", cited=True, text="ROIAlign 用双线性插值 [1]。天气很好。"):
    chunk = _chunk()
    answer = Answer("q", text, [Citation(1, chunk)] if cited else [], [CodeRef(chunk.source, chunk.code[0])],
                    [Hit(chunk, 1.0, 1)], "m", mode, dict(TIMINGS), Markers())
    answer.sentences = [Sentence(0, 20, [1], True), Sentence(20, 25, [], False)]
    return answer


def test_terminal_text_loses_escape_sequences_and_control_codes():
    assert render.terminal("a\x1b]0;owned\x07b\x1b[2Jc\x1b[31md\x07\x00e\n\tf") == "abcde\n\tf"


def test_a_fence_is_longer_than_any_backtick_run_inside():
    assert render.fence("x = '```'", "python") == "````python\nx = '```'\n````"
    assert render.fence("plain", "py<script>") == "```pyscript\nplain\n```"


def test_sources_use_the_same_rows_and_words_in_every_view():
    for answer, status in ((_answer(), "cited"), (_answer(cited=False), "unused"),
                           (_answer("out_of_scope", cited=False), "closest")):
        label = render.SOURCE_LABELS[status]
        assert [r.status for r in render.source_rows(answer)] == [status]
        assert answer.to_dict()["sources"][0]["status"] == status
        assert label in render.sources_text(answer)
        assert label in render.sources_html(answer) and label in render.answer_markdown(answer)


def test_note_text_and_file_names_are_escaped_in_html_views():
    answer = _answer()
    html = render.sources_html(answer) + render.code_markdown(answer) + render.answer_markdown(answer)
    assert "<img" not in html and "<form" not in html and "<b>notes" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in render.sources_html(answer)
    assert "````python\nx = '```'\nprint(x)\n````" in render.code_markdown(answer)


def test_unsupported_sentences_are_marked_with_a_legend():
    answer = _answer()
    assert render.marked_text(answer) == "ROIAlign 用双线性插值 [1]。天气很好。†"
    assert render.UNSUPPORTED_NOTE in render.sources_text(answer)
    assert answer.to_dict()["sentences"][1] == {"start": 20, "end": 25, "cited": [], "supported": False}


def test_json_keeps_the_raw_text():
    assert _answer(text="<b>x</b> [1]。").to_dict()["answer"] == "<b>x</b> [1]。"


def test_the_ask_api_markdown_escapes_text_after_a_fence_opened_mid_line():
    from rag.render import escape_markdown_text
    text = "见 ```py x = 1\n<img src=x onerror=alert(1)> 与 `a && b` [1]\n```js\n<b>code</b>\n```"
    assert escape_markdown_text(text) == ("见 ```py x = 1\n&lt;img src=x onerror=alert(1)&gt; 与 `a && b` [1]\n"
                                          "```js\n<b>code</b>\n```")


@pytest.mark.parametrize("text", ["\\`<img src=x>`", "# 标题 `a\n<img src=x>`", "- 第一项 `a\n- <img src=x>`"])
def test_backticks_markdown_would_not_read_as_code_leave_the_html_escaped(text):
    from ui.web import link_citations
    assert "<img" not in link_citations(text) and "&lt;img" in link_citations(text)
