"""Notes kept as PDF, Word or Jupyter files, read as markdown lines that remember their page, paragraph or cell.

Each format module turns a file's bytes into `Lines` (headings as '#', code fenced, tables as markdown
tables), or gives the reason it cannot: the cleaning, sectioning and chunking of markdown then stay one
implementation, and each chunk's place ("page 3, lines 2-9", "cell 7", "paragraph 12") comes from the
lines it spans. Each heavy library is imported by its own module, and only when such a file is read.
"""
from __future__ import annotations

import importlib
import re
import time
from pathlib import PurePosixPath

from ingest import structure
from ingest.formats.lines import Lines, as_text

__all__ = ["SUFFIXES", "Lines", "as_text", "convert", "handles", "promote_questions", "read_here"]

# suffix -> module of ingest.formats holding convert(data: bytes, deadline: float) -> Lines | str (why not)
SUFFIXES = {".pdf": "pdf", ".docx": "docx", ".ipynb": "notebook"}
ISOLATED = {"pdf", "docx"}   # compressed inside: read in a child process with MEMORY_MB (see isolated.py)
MEMORY_MB = 1536
MAX_SECONDS = 120.0          # reading one file stops here
QUESTION_MARK = re.compile(r"[?？]")


def handles(source: str) -> bool:
    return PurePosixPath(source).suffix.lower() in SUFFIXES


def convert(source: str, data: bytes) -> Lines | str:
    """The file's markdown lines, or why it cannot be read."""
    kind = SUFFIXES[PurePosixPath(source).suffix.lower()]
    if kind in ISOLATED:
        from ingest.formats import isolated
        out = isolated.run(kind, data, MEMORY_MB, MAX_SECONDS)
    else:
        out = read_here(kind, data, time.monotonic() + MAX_SECONDS)
    if isinstance(out, Lines) and not any(line.strip() for line in out.lines):
        return "no text found"
    return out


def read_here(kind: str, data: bytes, deadline: float) -> Lines | str:
    """The conversion itself, in this process (checked against deadline between pages, paragraphs, cells)."""
    return importlib.import_module(f"ingest.formats.{kind}").convert(data, deadline)


def promote_questions(lines: Lines) -> Lines:
    """Question lines of the body ('1. 什么是交并比？', '问题3：…', 'Q: …') become headings one level below the
    document's own, found as in a plain-text note; an answer on the same line moves to the next. Numbered
    lines without a question mark stay text: in a document with headings they are answer lists."""
    text = lines.text
    starts, pos = [], 0
    for line in lines.lines:
        starts.append(pos)
        pos += len(line) + 1
    index = {start: i for i, start in enumerate(starts)}
    levels = [len(ln) - len(ln.lstrip("#")) for ln in lines.lines if ln.startswith("#")]
    level = min(6, max(levels, default=1) + 1)
    out = Lines(lines.unit, gaps=lines.gaps)
    heads = {index[a]: b - a for a, b, _, title in structure.find_headings(text, markdown=False)
             if a in index and _question(title)}
    for i, (line, where) in enumerate(zip(lines.lines, lines.where)):
        cut = heads.get(i)
        if cut is None or line.startswith("#"):
            out.lines.append(line)
            out.where.append(where)
            continue
        out.lines.append("#" * level + " " + line[:cut].strip())
        out.where.append(where)
        if line[cut:].strip():
            out.lines.append(line[cut:].strip())
            out.where.append(where)
    return out


def _question(title: str) -> bool:
    return bool(QUESTION_MARK.search(title) or structure.TAGGED_QUESTION.match(title))
