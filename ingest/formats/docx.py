"""Word (.docx) documents to markdown lines with python-docx, each line remembering its paragraph or table.

Title and Heading N styles become '#' and N + 1 '#'s; paragraphs in a code style (a style name holding "code" or
"代码") or set wholly in a monospace font become one fenced block per run; numbered and bulleted list
paragraphs become "1." / "-" items; tables become markdown tables. Paragraphs are counted as
python-docx's Document.paragraphs counts them (body paragraphs, empty ones too), tables as its tables.
"""
from __future__ import annotations

import io
import re
import time
import zipfile

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.formats.lines import Lines, as_code, as_text

HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
CODE_STYLE = re.compile(r"code|代码|source|preformatted|verbatim", re.I)
MONO_FONTS = re.compile(r"mono|courier|consol|menlo|monaco|code|fixed", re.I)


def convert(data: bytes, deadline: float) -> Lines | str:
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        return _unreadable(data, e)
    out, counts, numbered = Lines("paragraph"), {"p": 0, "tbl": 0}, 0
    styles = _style_names(document)
    code: list[tuple[str, int]] = []
    for element in document.element.body.iterchildren():
        if time.monotonic() > deadline:
            return f"reading took too long (stopped after paragraph {counts['p']})"
        kind = element.tag.rsplit("}", 1)[-1]
        if kind not in counts:
            continue
        counts[kind] += 1
        if kind == "tbl":
            _flush(code, out)
            _table(Table(element, document), counts["tbl"], out)
            continue
        paragraph = Paragraph(element, document)
        style = styles.get(element.style, styles[None])
        if _is_code(paragraph, style):
            code.append((paragraph.text, counts["p"]))
            continue
        _flush(code, out)
        numbered = _paragraph(paragraph, style, (counts["p"], numbered), out)
    _flush(code, out)
    return out


def _unreadable(data: bytes, e: Exception) -> str:
    if data.startswith(b"\xd0\xcf\x11\xe0"):          # an OLE container: encrypted .docx or an old .doc renamed
        return "encrypted or an old Word file; save an unprotected copy as .docx to index it"
    return f"not a readable Word file ({type(e).__name__}: {e})"


def _style_names(document) -> dict:
    """Paragraph style id -> name, None -> the default's: paragraph.style searches every style each time."""
    names = {s.style_id: s.name or "" for s in document.styles if s.type == WD_STYLE_TYPE.PARAGRAPH}
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    names[None] = default.name or "" if default is not None else ""
    return names


def _is_code(paragraph: Paragraph, style: str) -> bool:
    if CODE_STYLE.search(style):
        return True
    runs = [r for r in paragraph.runs if r.text.strip()]
    return bool(runs) and all(MONO_FONTS.search(r.font.name or "") for r in runs)


def _paragraph(paragraph: Paragraph, style: str, counts: tuple[int, int], out: Lines) -> int:
    """Adds the paragraph (counts: its number, the last item number of a numbered list before it, 0 outside
    one); returns the list's running number."""
    (number, numbered), text = counts, paragraph.text.strip()
    if not text:
        return numbered
    heading = HEADING_STYLE.match(style)
    if heading or style.lower() == "title":
        # Title above Heading 1: a document title is the outermost heading of the path.
        out.add("#" * min(6, int(heading.group(1)) + 1 if heading else 1) + " " + " ".join(text.split()), number)
        return 0
    if style.lower().startswith("list number"):
        out.add(f"{numbered + 1}. {text}", number)
        return numbered + 1
    listed = style.lower().startswith("list") or paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    out.add(f"- {text}" if listed else as_text(text), number)
    return numbered if listed else 0


def _flush(code: list[tuple[str, int]], out: Lines) -> None:
    if not code:
        return
    out.add("```", code[0][1])
    for text, number in code:
        for line in text.split("\n"):
            out.add(as_code(line.rstrip()), number)
    out.add("```", code[-1][1])
    code.clear()


def _table(table: Table, number: int, out: Lines) -> None:
    rows = [[" ".join(cell.text.split()).replace("|", "\\|") for cell in row.cells] for row in table.rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return
    width = max(len(row) for row in rows)
    for i, row in enumerate(rows, 1):
        out.add_in("table", "| " + " | ".join(row + [""] * (width - len(row))) + " |", number, (i, i))
        if i == 1:
            out.add_in("table", "|" + " --- |" * width, number, (1, 1))
