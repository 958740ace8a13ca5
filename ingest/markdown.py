"""Block structure of a markdown text, read by markdown-it-py: the only module that imports markdown_it.

Each block comes back as character offsets into the text it was given (the cleaned text keeps its own
map back to the raw file), so a heading, a fence or a table row can be cited by line:

    blocks("## 问？\\n```py\\nx\\n```\\n") -> (Block("heading", 0, 6, 2, "## 问？"), Block("fence", 6, 18, 0, "py"))

Only the block level is parsed (no inline rules: a 10 MB line of base64 costs one pass). Raw HTML is
off, so a line such as "<h2>…</h2>" stays text and cannot swallow the fence after it.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt

# Setext headings, rules and link definitions matter to nothing here: off, for speed (same blocks otherwise).
_MD = (MarkdownIt("commonmark", {"html": False}).enable("table")
       .disable(["inline", "text_join", "lheading", "hr", "reference"]))
NEWLINE = re.compile(r"\r\n?|\n")          # markdown-it's own line breaks (not \x0b, \x85, \u2028, …)
INFO_WORD = re.compile(r"[\w+#.-]*")
ATX = re.compile(r" {0,3}#")


@dataclass(frozen=True)
class Block:
    kind: str       # "heading" (ATX '#' headings only), "fence" or "table"
    start: int      # offset of the block's first line
    end: int        # offset just after its last line (its line break included)
    level: int = 0  # heading level
    info: str = ""  # heading: its source line; fence: the language word; table: ""


@dataclass(frozen=True)
class Row:
    start: int      # offset of a table body row's line
    end: int        # offset of that line's end (before the line break)
    line: str


def line_starts(text: str) -> list[int]:
    """Offsets where markdown-it's lines begin: line_starts("a\\r\\nb") -> [0, 3]."""
    return [0] + [m.end() for m in NEWLINE.finditer(text)]


@lru_cache(maxsize=4)
def _parse(text: str) -> tuple[tuple[Block, ...], tuple[Row, ...]]:
    starts = line_starts(text)

    def offset(line: int) -> int:
        return starts[line] if line < len(starts) else len(text)

    def line_text(line: int) -> str:
        return NEWLINE.sub("", text[offset(line):offset(line + 1)])

    out, rows = [], []
    for tok in _MD.parse(text):
        if not tok.map:
            continue
        first, last = tok.map
        if tok.type == "heading_open" and tok.markup.startswith("#") and ATX.match(line_text(first)):
            out.append(Block("heading", offset(first), offset(last), len(tok.markup), line_text(first)))
        elif tok.type == "fence" and line_text(first).lstrip().startswith(tok.markup):
            # fences inside a quote ("> ```") stay text, as they always have been
            lang = INFO_WORD.match(tok.info.strip()).group(0).lower()
            out.append(Block("fence", offset(first), offset(last), 0, lang))
        elif tok.type == "table_open":
            out.append(Block("table", offset(first), offset(last)))
        elif tok.type == "tr_open":
            row = line_text(first)
            rows.append(Row(offset(first), offset(first) + len(row), row))
    return tuple(out), tuple(rows)


def blocks(text: str) -> tuple[Block, ...]:
    """Headings, fences and tables in document order (cached: clean, structure and code all ask)."""
    return _parse(text)[0]


def fences(text: str) -> list[Block]:
    """Fenced code blocks; an unclosed fence runs to the end of its container (or of the text)."""
    return [b for b in blocks(text) if b.kind == "fence"]


def in_fence(text: str):
    """is_fenced(offset): does the line starting at this offset lie inside a fenced code block?"""
    spans = fences(text)
    ends = [f.end for f in spans]

    def is_fenced(offset: int) -> bool:
        k = bisect.bisect_right(ends, offset)          # the first fence ending after the offset
        return k < len(spans) and spans[k].start <= offset
    return is_fenced


def headings(text: str) -> list[Block]:
    return [b for b in blocks(text) if b.kind == "heading"]


def tables(text: str) -> list[Block]:
    return [b for b in blocks(text) if b.kind == "table"]


def tables_with_rows(text: str) -> list[tuple[Block, list[Row]]]:
    """Each table with its rows (header row included, delimiter row not), each row as its source line."""
    found, rows = _parse(text)          # one cache lookup: equal texts compare in full on every lookup
    out = []
    for table in (b for b in found if b.kind == "table"):
        first = bisect.bisect_left(rows, table.start, key=lambda r: r.start)
        last = bisect.bisect_left(rows, table.end, key=lambda r: r.start)
        out.append((table, list(rows[first:last])))
    return out


def cells(line: str) -> list[tuple[int, int]]:
    """(start, end) of each cell's text in a table row line: cells("| a | b |") -> [(2, 3), (6, 7)]."""
    bounds, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == "|":
            bounds.append(i)
        i += 1
    core = line.strip()
    edges = ([] if core.startswith("|") else [-1]) + bounds + ([] if core.endswith("|") else [len(line)])
    spans = []
    for a, b in zip(edges, edges[1:]):
        seg = line[a + 1:b]
        lead = len(seg) - len(seg.lstrip())
        spans.append((a + 1 + lead, a + 1 + len(seg.rstrip())))
    return spans
