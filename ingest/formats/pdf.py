"""PDF text pages to markdown lines, read with PDFium (pypdfium2): characters with their font, size and weight.

Headings: lines set larger than the body text (or bold at body size), one '#' level per size, largest
first. Code: runs of lines in a fixed-pitch font, fenced, with indentation rebuilt from where each line
starts. Wrapped body lines of a paragraph are joined. Each line remembers its page and line on the page.
Pages with no characters (scanned) and files that need a password are reported, never guessed at.
"""
from __future__ import annotations

import ctypes
import statistics
import time
from collections import Counter
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingest.formats.lines import Lines, as_code, as_text

MAX_PAGES = 3000
MAX_CHARS_PER_PAGE = 100_000     # beyond this a page is read in part (a page of text holds a few thousand)
MONO_NAMES = ("mono", "courier", "consol", "menlo", "monaco", "code", "fixed", "typewriter")
FIXED_PITCH = 1                  # PDF font descriptor flag


@dataclass
class Line:
    text: str
    page: int
    number: int          # line on its page, 1-based
    x: float             # where the first visible character starts
    right: float         # where the last one ends
    size: float
    bold: bool
    mono: bool
    advance: float       # typical distance between characters' origins (monospace indentation)


def convert(data: bytes, deadline: float) -> Lines | str:
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        return _unreadable(e)
    try:
        if len(doc) > MAX_PAGES:
            return f"too many pages ({len(doc)} > {MAX_PAGES})"
        out, lines, empty, width = Lines("page"), [], [], 0.0
        for i in range(len(doc)):
            if time.monotonic() > deadline:
                return f"reading took too long (stopped at page {i + 1} of {len(doc)})"
            page_lines, page_width = _page_lines(doc, i)
            lines += page_lines
            width = max(width, page_width)
            if not page_lines:
                empty.append(i + 1)
    finally:
        doc.close()
    if not lines:
        return "no text layer (scanned pages or images only; iqa does no OCR)"
    _emit(lines, out, 0.75 * width)
    out.gaps += [(_pages(run), "no text layer (scanned page; iqa does no OCR)") for run in _runs(empty)]
    return out


def _unreadable(e: Exception) -> str:
    if "password" in str(e).lower():
        return "encrypted (needs a password); save an unprotected copy to index it"
    return f"not a readable PDF ({e})"


def _page_lines(doc, index: int) -> tuple[list[Line], float]:
    page = doc[index]
    textpage = page.get_textpage()
    try:
        count = min(textpage.count_chars(), MAX_CHARS_PER_PAGE)
        return _lines(textpage, index + 1, count), page.get_width()
    finally:
        textpage.close()
        page.close()


def _lines(textpage, page: int, count: int) -> list[Line]:
    out, chars = [], []
    for i in range(count):
        code = pdfium_c.FPDFText_GetUnicode(textpage, i)
        if code == 10 and chars:
            out += _line(chars, page, len(out) + 1)
            chars = []
        if code >= 32 and code not in (0xFFFE, 0xFFFF):       # no controls, unmapped glyphs
            chars.append(_char(textpage, i, chr(code)))
    if chars:
        out += _line(chars, page, len(out) + 1)
    return out


def _char(textpage, i: int, ch: str) -> tuple:
    """(character, x origin, right edge, size, bold, fixed pitch)."""
    x, y = ctypes.c_double(), ctypes.c_double()
    pdfium_c.FPDFText_GetCharOrigin(textpage, i, x, y)
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    pdfium_c.FPDFText_GetCharBox(textpage, i, left, right, bottom, top)
    name, flags = ctypes.create_string_buffer(128), ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(textpage, i, name, 128, flags)
    font = name.value.decode("latin-1").lower()
    bold = pdfium_c.FPDFText_GetFontWeight(textpage, i) >= 600 or "bold" in font
    mono = bool(flags.value & FIXED_PITCH) or any(m in font for m in MONO_NAMES)
    return ch, x.value, right.value, round(pdfium_c.FPDFText_GetFontSize(textpage, i) * 2) / 2, bold, mono


def _line(chars: list[tuple], page: int, number: int) -> list[Line]:
    seen = [c for c in chars if not c[0].isspace()]
    if not seen:
        return []
    # PDFium gives UTF-16 units: a character outside the BMP comes as a surrogate pair, joined here.
    text = "".join(c[0] for c in chars).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").strip()
    steps = [b[1] - a[1] for a, b in zip(chars, chars[1:]) if b[1] > a[1]]
    size = Counter(c[3] for c in seen).most_common(1)[0][0]
    return [Line(text, page, number, seen[0][1], max(c[2] for c in seen), size, all(c[4] for c in seen),
                 sum(c[5] for c in seen) >= 0.8 * len(seen), statistics.median(steps) if steps else size * 0.6)]


def _emit(lines: list[Line], out: Lines, wide: float) -> None:
    """Body, headings and code blocks as markdown, in reading order. A body line wraps into the next when
    it runs to the right margin: the widest body line, or `wide` when every line is short."""
    body = Counter()
    for ln in lines:
        if not ln.mono:
            body[ln.size] += len(ln.text)
    body_size = body.most_common(1)[0][0] if body else 0
    levels = {s: i + 1 for i, s in enumerate(sorted({ln.size for ln in lines if _heading(ln, body_size)
                                                     and ln.size > body_size}, reverse=True))}
    right = max([ln.right for ln in lines if not ln.mono] + [wide])
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.mono:
            i = _code(lines, i, out)
        elif _heading(ln, body_size):
            out.add("#" * min(6, levels.get(ln.size, len(levels) + 1)) + " " + ln.text, ln.page, ln.number)
            i += 1
        else:
            i = _paragraph(lines, i, out, right)


def _heading(ln: Line, body_size: float) -> bool:
    if ln.mono or len(ln.text) > 60 or ln.text.endswith(("。", "；", ".", ";", "，", ",")):
        return False
    return ln.size >= body_size * 1.15 or (ln.bold and ln.size >= body_size and len(ln.text) <= 40)


def _paragraph(lines: list[Line], i: int, out: Lines, right: float) -> int:
    """A body line and the lines it wraps into: joined while a line runs to the right margin."""
    first, parts = lines[i], [lines[i].text]
    while (i + 1 < len(lines) and lines[i].right >= right - 2 * lines[i].size and not lines[i + 1].mono
           and lines[i + 1].page == first.page and lines[i + 1].size == first.size and not lines[i + 1].bold):
        i += 1
        latin = parts[-1][-1:].isascii() and lines[i].text[:1].isascii()
        parts.append((" " if latin else "") + lines[i].text)
    out.add(as_text("".join(parts)), first.page, first.number, lines[i].number)
    return i + 1


def _code(lines: list[Line], i: int, out: Lines) -> int:
    """A run of monospace lines as one fenced block, each indented by its offset from the leftmost."""
    j = i
    while j < len(lines) and lines[j].mono:
        j += 1
    block = lines[i:j]
    left = min(ln.x for ln in block)
    advance = statistics.median(ln.advance for ln in block) or 1.0
    out.add("```", block[0].page, block[0].number)
    for ln in block:
        out.add(as_code(" " * max(0, round((ln.x - left) / advance)) + ln.text), ln.page, ln.number)
    out.add("```", block[-1].page, block[-1].number)
    return j


def _runs(numbers: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _pages(run: list[int]) -> str:
    return f"page {run[0]}" if len(run) == 1 else f"pages {run[0]}-{run[-1]}"
