"""Jupyter notebooks to markdown lines with nbformat, each line remembering its cell (1-based, in file order).

Markdown cells are kept as written (their headings make the sections, their text the answers); code
cells become fenced blocks in the notebook's language, so they are code of the section they follow;
outputs and raw cells are dropped.
"""
from __future__ import annotations

import time
import warnings

import nbformat
from nbformat.reader import NotJSONError

from ingest.formats.lines import Lines, as_code


def convert(data: bytes, deadline: float) -> Lines | str:
    try:
        with warnings.catch_warnings():          # nbformat warns on stderr about fixable flaws (duplicate cell ids)
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(data.decode("utf-8-sig"), as_version=nbformat.NO_CONVERT)
    except UnicodeDecodeError:
        return "not a valid notebook (not UTF-8 text)"
    except NotJSONError as e:
        return f"not a valid notebook (invalid JSON; {str(e)[:160]})"
    except Exception as e:            # nbformat's own errors: unknown version, bad structure
        return f"not a valid notebook ({type(e).__name__}: {str(e)[:160]})"
    cells = notebook.get("cells")
    if notebook.get("nbformat", 0) < 4 or not isinstance(cells, list):
        return "not a valid notebook (no cell list; nbformat 4 or later is read)"
    language = _language(notebook.get("metadata") or {})
    out = Lines("cell")
    for number, cell in enumerate(cells, 1):
        if time.monotonic() > deadline:
            return f"reading took too long (stopped at cell {number})"
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        source = "".join(source) if isinstance(source, list) else str(source)
        if not source.strip():
            continue
        kind = cell.get("cell_type")
        if kind == "markdown":
            out.add(source.rstrip("\n"), number)
            out.add("", number)
        elif kind == "code":
            out.add(f"```{language}", number)
            for line in source.rstrip("\n").split("\n"):
                out.add(as_code(line), number)
            out.add("```", number)
    return out


def _language(metadata: dict) -> str:
    for key in ("kernelspec", "language_info"):
        value = metadata.get(key) or {}
        name = value.get("language") or value.get("name") if isinstance(value, dict) else None
        if isinstance(name, str) and name.isidentifier():
            return name.lower()
    return "python"
