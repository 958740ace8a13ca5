"""Strip page junk while remembering where every kept character came from.

A `Mapped` text is built from raw slices (literal) and short synthesized pieces
(a markdown heading prefix for an <h2> tag, a newline for a <br>); `to_raw(i)` maps a
clean offset back to the raw file, so every chunk can say where it lives.

Markdown exports: YAML front matter becomes `meta` (title, tags) and leaves the text; Obsidian
[[wiki links]] keep their shown text, ![[embeds]] go, a callout keeps its title without "[!note]".
Code fences are markdown-it's (ingest.markdown), the same rule ingest.code and ingest.structure use.
"""
from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field

from ingest import frontmatter
from ingest import markdown as md
from rag.text import CJK


@dataclass
class Mapped:
    text: str = ""
    starts: list[int] = field(default_factory=list)     # clean start of each segment
    segments: list[tuple[int, int, bool]] = field(default_factory=list)  # raw start, raw end, literal
    parent: "Mapped | None" = None
    meta: dict = field(default_factory=dict)     # front matter: title, tags
    # Pieces wait here until finish(): `self.text += piece` copies the whole text every time, which
    # made a page of many small segments (a big HTML table) quadratic.
    _pieces: list[str] = field(default_factory=list, repr=False)
    _length: int = 0

    def keep(self, a: int, b: int, source: str) -> None:
        if b > a:
            self._add(source[a:b], a, b, True)

    def emit(self, piece: str, a: int, b: int) -> None:
        if piece:
            self._add(piece, a, b, False)

    def _add(self, piece: str, a: int, b: int, literal: bool) -> None:
        self.starts.append(self._length)
        self.segments.append((a, b, literal))
        self._pieces.append(piece)
        self._length += len(piece)

    def finish(self) -> "Mapped":
        self.text, self._pieces = self.text + "".join(self._pieces), []
        return self

    def to_raw(self, offset: int, end: bool = False) -> int:
        """Raw offset of a clean offset; for `end`, the end of the character before it."""
        if not self.segments:
            return 0
        probe = offset - 1 if end and offset > 0 else offset
        i = max(0, bisect.bisect_right(self.starts, probe) - 1)
        a, b, literal = self.segments[i]
        if literal:
            pos = a + min(probe - self.starts[i], b - a - 1) + (1 if end else 0)
        else:
            pos = b if end else a
        return self.parent.to_raw(pos, end) if self.parent else pos


def _build(text: str, ops) -> Mapped:
    """ops: iterable of ('keep', a, b) or ('emit', piece, a, b) over `text`."""
    out = Mapped()
    for op in ops:
        if op[0] == "keep":
            out.keep(op[1], op[2], text)
        else:
            out.emit(op[1], op[2], op[3])
    return out.finish()


# --- HTML documents ---------------------------------------------------------------
TAG = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>", re.S)
TAG_ONLY = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
DROP_ELEMENTS = {"head", "script", "style", "nav", "header", "footer", "aside", "noscript", "form", "svg"}
BLOCK = {"p", "div", "br", "li", "tr", "ul", "ol", "table", "section", "article", "pre", "blockquote",
         "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dt", "dd"}


def html_to_text(raw: str) -> Mapped:
    """Tags out, block tags become newlines, headings become markdown headings, <pre> becomes a fence."""
    ops, pos, skip_until = [], 0, None
    for m in _tags(raw):
        closing, name = m.group(1), (m.group(2) or "").lower()
        if skip_until:
            if closing and name == skip_until:
                skip_until, pos = None, m.end()
            continue
        ops.extend(_text_ops(raw, pos, m.start()))
        pos = m.end()
        if not closing and name in DROP_ELEMENTS:
            skip_until = name
        elif name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            ops.append(("emit", "\n" if closing else "\n" + "#" * int(name[1]) + " ", m.start(), m.end()))
        elif name == "pre":
            ops.append(("emit", "\n```\n" if closing else "\n```\n", m.start(), m.end()))
        elif name in BLOCK:
            ops.append(("emit", "\n", m.start(), m.end()))
    if not skip_until:
        ops.extend(_text_ops(raw, pos, len(raw)))
    return _build(raw, ops)


def _tags(raw: str):
    """TAG's matches, without rescanning the rest of the page from every unclosed '<!--' or '<p'.

    No match can run past the last '-->' (comments) or the last '>' (tags), so the scan stops there.
    """
    split = raw.rfind("-->") + 3 if "-->" in raw else 0
    yield from TAG.finditer(raw, 0, split)
    yield from TAG_ONLY.finditer(raw, split, raw.rfind(">") + 1)


def _text_ops(raw: str, a: int, b: int):
    """Literal text, with entities decoded (a decoded entity is a synthesized piece)."""
    for m in re.finditer(r"&#?\w+;|[^&]+|&", raw[a:b]):
        piece = m.group(0)
        if piece.startswith("&") and len(piece) > 1:
            yield ("emit", html.unescape(piece), a + m.start(), a + m.end())
        else:
            yield ("keep", a + m.start(), a + m.end())


# --- line-level cleaning of markdown / text ----------------------------------------
HTML_HEADING = re.compile(r"^\s*<h([1-6])[^>]*>(.*?)</h\1>\s*$", re.I)
INLINE_TAG = re.compile(r"</?(font|span|div|center|b|i|u|strong|em|sup|sub|br|p|a|img|table|tr|td|th|tbody|thead)\b[^>]*/?>", re.I)
# Link and image text stops at the next '[' too: "![![![…" would otherwise rescan up to the same ']'
# from every '['. (Nested brackets never matched as links anyway: the ']' after them is not '('.)
MD_IMAGE = re.compile(r"!\[[^\[\]]*\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\[\]]+)\]\((?:https?://|#|\.{0,2}/)[^)]*\)")
WIKI_EMBED = re.compile(r"!\[\[[^\[\]\n]*\]\]")
WIKI_LINK = re.compile(r"\[\[([^\[\]|#\n]*)(#[^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")   # page, #heading, |shown text
CALLOUT = re.compile(r"^[ \t]*(?:>[ \t]*)+(\[![\w-]+\][+-]?[ \t]*)")
URL = re.compile(r"(?:https?://|www\.)[^\s)\]，。,；;]+")
TOC_HEADING = re.compile(r"^\s*(#{1,6}\s*)?(目录|目录先行|table of contents|contents)\s*[:：]?\s*$", re.I)
# Possessive leading blanks and atomic first-occurrence groups (same lines match) keep a long line
# from being rescanned once per blank or per repeated word: these patterns run on every line.
TOC_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s*\[(?>.*?\]\(#).*\)\s*$")
JUNK_LINE = re.compile(
    r"^\s*+(?:[•·]\s*+)?(?:"
    r"当前位置[:：].*|.*首页\s*>.*|"
    r"(?:点赞|评论|收藏|分享|举报|关注|全部评论|更多|打赏|转发)(?:\s*\d+)?|"
    r"(?:点赞\s*)?(?:评论\s*)?收藏\s*分享|"
    r"\d{1,6}|stars?|rank\s+[\d,]+.*|language|created .* ago|updated .* ago|reviews|"
    r"there are no reviews yet.*|repository details|牛客网|牛客企业服务|"
    r"(?>.*?关注).*公众号.*|(?>.*?欢迎).*star.*|.*扫码.*|.*技术交流群.*|.*知乎[:：].*"
    r")\s*$", re.I)
GLUED_QUESTION = re.compile(r"(?<=[^\d\s.，。、])\d{1,2}\.\s?(?=[^\n]*" + CJK.pattern + r")[^\d\s][^\n]{1,80}$")
GLUED_REACH = 90         # a glued question is at most 86 characters long and ends the line
TAIL_MARKER = re.compile(r"^\s*(相关推荐|推荐阅读|相关文章|创作者周榜|热门推荐|猜你喜欢|相关阅读)\s*[:：]?\s*$")


def clean(raw: str, is_html: bool = False, plain: bool = False) -> Mapped:
    """The cleaned text of a document, mapped back to the raw text.

    plain: a scraped text file, whose numbered questions may be glued onto the line before.
    """
    base = html_to_text(raw) if is_html else None
    text = base.text if base else raw
    meta, skip = frontmatter.read(text) if not (is_html or plain) else ({}, 0)
    out = _build(text, _line_ops(text, plain, skip))
    out.parent, out.meta = base, meta
    return out


def _line_ops(text: str, plain: bool = False, skip: int = 0):
    """Line by line: fenced lines kept as they are, junk and tables of contents dropped, spans stripped.

    skip: the length of a front matter block, left out of the text.
    """
    lines = text.splitlines(keepends=True)
    tail = _tail_start(lines)
    is_fenced = md.in_fence(text)
    pos, in_toc = 0, False
    for i, line in enumerate(lines):
        a, b = pos, pos + len(line)
        pos = b
        if i >= tail:
            break
        if a < skip:
            continue
        if is_fenced(a):
            yield ("keep", a, b)
            continue
        heading = HTML_HEADING.match(line)
        if TOC_HEADING.match(heading.group(2) if heading else line):
            in_toc = True
            continue
        if in_toc and (not line.strip() or TOC_ITEM.match(line)):
            continue
        in_toc = False
        if TOC_ITEM.match(line) or JUNK_LINE.match(line):
            continue
        # Searching only the line's end gives the same match without a scan to the end from every digit.
        glued = GLUED_QUESTION.search(line, max(0, len(line) - GLUED_REACH)) if plain else None
        if glued:          # "print(x)3. 什么是注意力机制?" -> two lines
            yield from _inline_ops(line[:glued.start()], a)
            yield ("emit", "\n", a + glued.start(), a + glued.start())
            yield from _inline_ops(line[glued.start():], a + glued.start())
            continue
        yield from _inline_ops(line, a)


def _tail_start(lines: list[str]) -> int:
    """Index of a '相关推荐'-style tail in the last half of the page, else len(lines)."""
    for i in range(len(lines) // 2, len(lines)):
        if TAIL_MARKER.match(lines[i]):
            return i
    return len(lines)


def _inline_ops(line: str, offset: int):
    """Keep a line minus tags, images, URLs; <hN> becomes '#' * N; [text](url) keeps text."""
    m = HTML_HEADING.match(line)
    if m:
        level, (ta, tb) = int(m.group(1)), m.span(2)
        yield ("emit", "#" * level + " ", offset, offset + ta)
        yield from _strip_spans(line, ta, tb, offset)
        yield ("emit", "\n", offset + tb, offset + len(line))
        return
    callout = CALLOUT.match(line)
    yield from _strip_spans(line, 0, len(line), offset, [callout.span(1)] if callout else [])


def _strip_spans(line: str, a: int, b: int, offset: int, drops: list | None = None):
    drops = list(drops or [])
    for pattern, close in ((INLINE_TAG, ">"), (MD_IMAGE, ")"), (WIKI_EMBED, "]]"), (URL, "")):
        drops += [m.span() for m in _upto(pattern, line, a, b, close)]
    for m in _upto(MD_LINK, line, a, b, ")"):       # keep the link text, drop brackets and target
        drops += [(m.start(), m.start(1)), (m.end(1), m.end())]
    for m in _upto(WIKI_LINK, line, a, b, "]]"):    # keep the alias, else the page name
        shown = 3 if m.group(3) is not None else 1
        drops += [(m.start(), m.start(shown)), (m.end(shown), m.end())]
    pos = a
    for s, e in sorted(drops):
        if s >= pos:
            yield ("keep", offset + pos, offset + s)
            pos = e
        elif e > pos:
            pos = e
    yield ("keep", offset + pos, offset + b)


def _upto(pattern: re.Pattern, line: str, a: int, b: int, close: str):
    """pattern's matches in line[a:b] when each ends with `close`: searching only up to the last `close`
    finds the same matches, and an opener with none after it no longer scans to the end of the line."""
    end = line.rfind(close, a, b) + len(close) if close else b
    return pattern.finditer(line, a, end) if end > a else iter(())
