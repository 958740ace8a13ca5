"""Notes are data: property tests of the ingest steps on arbitrary text and bytes (Hypothesis).

Whatever a file holds, decoding, cleaning, structuring and chunking finish without an exception, and
every chunk says truthfully where it came from:

- its offsets are character offsets into the raw decoded text, in order, inside the text, and its
  first line number is the line of its start;
- its text is what a reader of the source sees there: with whitespace ignored, a subsequence of
  raw[start:end] (the notion tests/test_shared_corpus.py checks on the real corpus). For .html notes
  the reader sees entities decoded (&lt; as <), so the raw span is read through html.unescape, and the
  two pieces the cleaner writes itself are allowed: the '#' marks of a heading tag and the ``` fence of
  a <pre> block;
- every code snippet lies inside its chunk and, whitespace ignored (lost newlines and indentation are
  put back in scraped Python), occurs verbatim in the source at its offsets.

The runs are derandomized (a fixed seed, no example database), so CI sees the same examples each time.
"""
from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from ingest.clean import clean
from ingest.document import parse, parse_text
from ingest.load import RawFile, decode, decode_bytes
from ingest.structure import sections
from tests.test_shared_corpus import is_subsequence

# Hypothesis keeps caches (and, for a failing case, a patch file) in ./.hypothesis: not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "iqa-hypothesis")

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Fragments that steer the text toward what the cleaner, the section finder and the chunker react to,
# mixed with arbitrary characters.
PIECES = [
    "\n", "\n\n", "\r\n", "\r", " ", "\t", "  ", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "\u2029",
    "```", "```python\n", "~~~", "~~~\n", "\n```\n", "    ",
    "# ", "## ", "### ", "#", "<h2>", "</h2>", "<h3>", "</h3>", "<h1>", "</h1>",
    "<pre>", "</pre>", "<br>", "<p>", "</p>", "<div>", "</div>", "<span>", "</span>", "<b>", "</b>",
    "<script>", "</script>", "<style>", "</style>", "<form>", "</form>", "<svg>", "</svg>", "<!--", "-->",
    "<input type=\"password\" placeholder=\"重新登录\">", "<video poster=\"//example.invalid/p.png\">",
    "<img src=x onerror=alert(1)>", "&lt;", "&gt;", "&amp;", "&#60;", "&#x3c;", "&nbsp;", "&", "&bogus;",
    "<", ">", "/", "\"", "'", "`", "~",
    "问题1: ", "问题8：", "【一】", "Q: ", "题目2: ", "1. ", "2. ", "3. ", "1、", "？", "?", "。", "，", "；",
    "什么是感受野？", "ROIAlign 和 ROIPool 的区别是什么?", "感受野是输出特征图上一个像素对应的输入区域。",
    "卷积", "神经网络", "注意力机制", "双线性插值", "attention", "gradient", "batch norm",
    "def f(x):", "return x", "import torch", "import torch.nn as nn", "class FPN(nn.Module):",
    "def __init__(self):super().__init__()", "x = 1", "print(x)", "for i in range(3):", "if x:", "# 注释",
    "self.conv = nn.Conv2d(3, 3, 1)", ")", "(", ":", "=",
    "http://example.invalid/a", "https://x.y/z?q=1", "www.a.b", "[链接](#x)", "[text](http://a.b)",
    "![图](x.png)", "- [目录项](#a)", "目录", "相关推荐", "点赞", "收藏", "123",
    "\x1b]0;title\x07", "\x1b[2J", "\x1b[31m", "\u200b", "\u200d", "\ufeff", "\u202e", "\ufffd", "\ud7ff",
    "😀", "é", "ｅ",
]
FRAGMENT = st.one_of(st.sampled_from(PIECES), st.text(max_size=4))
TEXT = st.lists(FRAGMENT, max_size=120).map("".join)
SUFFIX = st.sampled_from([".md", ".txt", ".html", ".markdown", ".htm"])
WS = re.compile(r"\s+")
HTML_MADE = re.compile(r"(?m)^\s*#{1,6}(?=\s|$)|```")        # the pieces html_to_text writes itself
HEADING_MADE = re.compile(r"(?m)^\s*#{1,6}(?=\s|$)")


def _squash(text: str) -> str:
    return WS.sub("", text)


def _fenced(raw: str, start: int, end: int) -> bool:
    """The snippet starts on the line after a ``` or ~~~ fence and holds no fence-like line itself.

    A line such as "```+" inside a fence is where the cleaner and the code finder still disagree
    (the cleaner takes it for a closing fence); such snippets are checked like prose code.
    """
    before = raw[:start].rstrip("\r\n").splitlines()
    inside = any(line.lstrip().startswith(("```", "~~~")) for line in raw[start:end].splitlines())
    return bool(before) and before[-1].lstrip().startswith(("```", "~~~")) and not inside


def check_parsed(source: str, raw: str, parsed) -> None:
    is_html = source.lower().endswith((".html", ".htm"))
    assert parsed.raw == raw
    for c in parsed.chunks:
        assert 0 <= c.start < c.end <= len(raw), (c.start, c.end, len(raw))
        assert c.line_start == raw.count("\n", 0, c.start) + 1
        assert c.line_start <= c.line_end
        assert c.text.strip(), c
        span = raw[c.start:c.end]
        seen, text = (html.unescape(span), HTML_MADE.sub("", c.text)) if is_html else (span, c.text)
        assert is_subsequence(_squash(text), _squash(seen)), (c.text, span)
        for s in c.code:
            assert c.start <= s.start <= s.end <= c.end, (s, c.start, c.end)
            where = raw[s.start:s.end]
            if is_html:     # code converted from markup: in order in the source, like chunk text
                code = HEADING_MADE.sub("", s.code)
                assert is_subsequence(_squash(code), _squash(html.unescape(where))), (s.code, where)
            elif _fenced(raw, s.start, s.end):     # fenced code is never edited
                assert _squash(s.code) in _squash(where), (s.code, where)
            else:           # code found in scraped prose: cleaned like the prose around it, in order
                assert is_subsequence(_squash(s.code), _squash(where)), (s.code, where)


@settings(max_examples=3000, **SETTINGS)
@given(raw=TEXT, suffix=SUFFIX)
# Cases Hypothesis found (minimal): a code block ending the file without a newline lost its last character
# from the snippet's offsets; a fence with no code after it became a snippet of the fence itself or of nothing.
@example(raw="```python\nx = 1", suffix=".md")
@example(raw="import os\nx = 1", suffix=".txt")
@example(raw="```0", suffix=".md")
@example(raw="```python\n", suffix=".md")
@example(raw="## 问？\n答。\n```\n```\n", suffix=".md")
def test_any_text_parses_into_chunks_that_point_at_their_source(raw, suffix):
    check_parsed("note" + suffix, raw, parse_text("note" + suffix, raw))


@settings(max_examples=1500, **SETTINGS)
@given(raw=st.text(max_size=400), suffix=SUFFIX)
def test_any_unicode_text_parses_into_chunks_that_point_at_their_source(raw, suffix):
    check_parsed("note" + suffix, raw, parse_text("note" + suffix, raw))


@settings(max_examples=2000, **SETTINGS)
@given(data=st.one_of(st.binary(max_size=300), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
                      TEXT.map(lambda t: t.encode("gb18030", "replace")),
                      TEXT.map(lambda t: t.encode("utf-16", "surrogatepass"))),
       suffix=SUFFIX)
def test_any_bytes_are_decoded_or_refused_and_parse_when_decoded(data, suffix):
    text, encoding = decode(data)
    decoded = decode_bytes(data)
    assert (decoded.text, decoded.encoding) == (text, encoding)
    assert isinstance(encoding, str) and encoding
    if text is None:
        return
    assert not re.search(r"[\ud800-\udfff]", text)         # storable as UTF-8 JSON
    text.encode("utf-8")
    parsed = parse(RawFile(path=None, source="note" + suffix, data=data))
    check_parsed("note" + suffix, text, parsed)


@settings(max_examples=1500, **SETTINGS)
@given(raw=TEXT, is_html=st.booleans(), plain=st.booleans(), markdown=st.booleans())
def test_cleaning_maps_every_kept_character_back_and_sections_stay_in_the_text(raw, is_html, plain, markdown):
    doc = clean(raw, is_html=is_html, plain=plain)
    base = 0
    for i in range(len(doc.text) + 1):              # to_raw is monotonic and stays inside the raw text
        pos = doc.to_raw(i)
        assert 0 <= pos <= len(raw)
        assert pos >= base
        base = pos
    if not is_html:
        # Without HTML every kept segment is the raw text itself: a literal piece maps to where it is.
        for start, (a, b, literal) in zip(doc.starts, doc.segments):
            if literal:
                assert doc.text[start:start + b - a] == raw[a:b]
    secs = sections(doc.text, "note", markdown, strong=lambda start: False)
    previous_end = 0
    for sec in secs:
        assert 0 <= sec.head_start <= sec.body_start <= sec.end <= len(doc.text)
        assert sec.head_start >= previous_end
        assert doc.text[sec.body_start:sec.end].strip()
        previous_end = sec.end


# --- a hostile-notes corpus, ingested -----------------------------------------------------------------

FORM = '<form><input type="password" placeholder="重新登录"></form>'
VIDEO = '<video poster="//example.invalid/p.png">'
SVG = '<svg width="2000" height="2000"><image href="//example.invalid/i.png"/></svg>'
IMG_NAME = "<img src=x onerror=alert(1)>.md"
RTL_NAME = "rtl-\u202edm.txt.md"             # shows as "rtl-md.txt…" reversed in a terminal
BIG_BYTES = 10 * 1024 * 1024


def hostile_files() -> dict[str, bytes]:
    """File name -> bytes: raw HTML in sentences, tags shown as text, odd fences, escapes, odd line ends."""
    def md(text: str) -> bytes:
        return text.encode("utf-8")
    big_line = "![截图](data:image/png;base64," + "QUJD" * (BIG_BYTES // 4) + ")\n"
    return {
        "form.md": md(f"## 登录表单为什么危险？\n\n钓鱼页面会放一个表单 {FORM} 让人重新输入密码。\n"),
        "video.md": md(f"## 视频标签会自动加载什么？\n\n写一个 {VIDEO} 浏览器就会去拉封面图。\n"),
        "svg.md": md(f"## 超大 SVG 有什么问题？\n\n一个 {SVG} 会撑满整个页面并加载外部图片。\n"),
        "shown.html": md("<html><head><title>标签</title></head><body><h2>怎样在网页里显示一个标签？</h2>"
                         "<p>写成 &lt;video src=x&gt; 就会显示为文字而不是视频。</p></body></html>"),
        IMG_NAME: md("## 文件名里的图片标签会执行吗？\n\n文件名 onerror 属性不应该被执行。\n"),
        RTL_NAME: md("## 右到左覆盖字符是什么？\n\nU+202E 会把后面的文字倒过来显示，用来伪装扩展名。\n"),
        "fence.md": md("## 波浪线围栏里能写反引号围栏吗？\n\n可以：\n\n~~~python\n```\nprint('inside')\n```\n~~~\n\n围栏外的文字。\n"),
        "escapes.md": md("## 终端转义序列有什么危险？\n\n标题\x1b]0;title\x07会被改写，\x1b[2J会清屏，\x1b[31m红色。\n"),
        "zero-width.md": md("## 零宽字符\u200b是什么？\n\n零\u200b宽\u200c空\u200d格\ufeff不可见但会影响搜索。\n"),
        "crlf.md": md("## Windows 换行是什么？\r\n\r\nCRLF 是回车加换行。\r\n\r\n## 第二个问题？\r\n\r\n第二个回答。\r\n"),
        "lone-cr.txt": md("问题1: 老式 Mac 的换行是什么？\r只有回车 CR。\r问题2: 会出什么问题？\r按行切分的程序看到一整行。\r"),
        "nul.txt": b"\xe9\x97\xae\xe9\xa2\x98\x00NUL\x00bytes\n",                     # NUL at the start: binary
        "late-nul.md": md("## 文本中间的 NUL 是什么？\n\n" + "正文。" * 3000 + "\x00结尾还有字。\n"),   # past the 8 KiB probe
        "big.md": md("## 一个 10 MB 的笔记能导入吗？\n\n能，大部分是内嵌图片。\n\n") + md(big_line),
        "only-html.html": md(f"<div>{FORM}{VIDEO}{SVG}<iframe src='//example.invalid/f'></iframe></div>"),
        "only-html.md": md(f"{VIDEO}\n{SVG}\n<object data='//example.invalid/o'></object><embed src='//example.invalid/e'>\n"),
    }


def write_hostile_notes(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    files = hostile_files()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def test_hostile_notes_are_indexed_or_skipped_and_stored_as_the_reader_sees_them(tmp_path, fake_embedder):
    from ingest.build import ingest
    from ingest.load import printable_name
    from rag import store as storelib
    files = write_hostile_notes(tmp_path / "hostile")
    summary = ingest([tmp_path / "hostile"], tmp_path / "index", fake_embedder, log=lambda m: None)
    store = storelib.load(tmp_path / "index", log=lambda m: None)
    skipped = {s.source: s.reason for s in summary.skipped}
    indexed = set(store.manifest.files)
    names = {printable_name(n) for n in files}
    assert indexed | set(skipped) == names and not indexed & set(skipped)
    assert all(reason and not reason.startswith("could not be parsed") for reason in skipped.values()), skipped
    assert skipped == {"nul.txt": "binary (NUL bytes)"}
    with_chunks = {c.source for c in store.chunks}
    # A page made only of tags shows a reader nothing: it is indexed with no passage (the manifest says 0).
    # The same tags in a .md note are the note's words, kept as text like any sentence.
    assert with_chunks == indexed - {"only-html.html"}, indexed - with_chunks
    assert store.manifest.files["only-html.html"]["chunks"] == 0
    assert VIDEO in "".join(c.text for c in store.chunks if c.source == "only-html.md")
    for c in store.chunks:
        raw = decode((tmp_path / "hostile" / c.source).read_bytes())[0]
        assert parse_text(c.source, raw).chunks, c.source
        check_parsed(c.source, raw, type("P", (), {"raw": raw, "chunks": [c]}))
    text = {source: "\n".join(c.text for c in store.chunks if c.source == source) for source in with_chunks}
    # Raw HTML in a sentence is kept as the words a reader of the .md sees, not removed or rewritten.
    assert FORM in text["form.md"] and VIDEO in text["video.md"] and SVG in text["svg.md"]
    assert "<video src=x>" in text["shown.html"]           # the page shows the tag as text
    assert "```\nprint('inside')\n```" in text["fence.md"]
    assert "\x1b]0;title\x07" in text["escapes.md"] and "\x1b[2J" in text["escapes.md"]
    assert "零\u200b宽\u200c空\u200d格" in text["zero-width.md"]
    assert "能，大部分是内嵌图片。" in text["big.md"] and "QUJDQUJD" not in text["big.md"]
    assert "结尾还有字" in text["late-nul.md"]
    assert [c.line_start for c in store.chunks if c.source == "crlf.md"] == [3, 7]
    fence_code = [s.code for c in store.chunks if c.source == "fence.md" for s in c.code]
    assert fence_code == ["```\nprint('inside')\n```"]
