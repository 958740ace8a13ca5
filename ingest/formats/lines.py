"""Markdown lines made from a binary document, each remembering where in the original it was read.

    out = Lines("page"); out.add("# 第一章", 1, 1); out.add("交并比是…", 1, 2, 3); out.add("NMS…", 2, 1)
    out.text -> "# 第一章\\n交并比是…\\nNMS…\\n"
    out.place(2, 2) -> "page 1, lines 2-3";  out.place(2, 3) -> "pages 1-2"
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# A line of document text that markdown would read as a heading or a code fence: notes are data, so a
# zero-width space keeps it text (invisible, and no pattern of the pipeline takes it for a blank).
MARKUP_START = re.compile(r"^\s*(#|```|~~~)")
PLAIN = "\u200b"


FENCE_START = re.compile(r"^\s*(```|~~~)")


def as_text(line: str) -> str:
    return PLAIN + line if MARKUP_START.match(line) else line


def as_code(line: str) -> str:
    """A line inside a fenced block: only a fence-like line needs keeping from closing the block."""
    return PLAIN + line if FENCE_START.match(line) else line


SUB = {"page": "line", "table": "row"}       # what a place counts inside a unit


@dataclass
class Lines:
    unit: str                                   # "page", "cell" or "paragraph": what a place names
    lines: list[str] = field(default_factory=list)
    where: list[tuple[str, int, int, int]] = field(default_factory=list)   # unit, number, first, last sub-line
    gaps: list[tuple[str, str]] = field(default_factory=list)     # parts not read: ("pages 3-4", reason)

    def add(self, line: str, number: int, first: int = 0, last: int | None = None) -> None:
        """A markdown line read from unit `number`, sub-lines first..last of it (0: the whole unit)."""
        self.add_in(self.unit, line, number, (first, first if last is None else last))

    def add_in(self, unit: str, line: str, number: int, span: tuple[int, int] = (0, 0)) -> None:
        for part in line.split("\n"):
            self.lines.append(part)
            self.where.append((unit, number, *span))

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def place(self, line_start: int, line_end: int) -> str:
        """Where text lines line_start..line_end (1-based, as chunks count them) came from."""
        if not self.where:
            return ""
        a = self.where[min(max(line_start, 1), len(self.where)) - 1]
        b = self.where[min(max(line_end, line_start, 1), len(self.where)) - 1]
        if a[:2] == b[:2] and a[2]:
            first, last = a[2], max(a[2], b[3])
            sub = SUB.get(a[0], "line")
            return f"{a[0]} {a[1]}, " + (f"{sub} {first}" if first == last else f"{sub}s {first}-{last}")
        if a[:2] == b[:2]:
            return f"{a[0]} {a[1]}"
        if a[0] == b[0]:
            return f"{a[0]}s {a[1]}-{b[1]}"
        return f"{a[0]} {a[1]} to {b[0]} {b[1]}"
