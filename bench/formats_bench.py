"""Ingest speed per note format: PDF pages, Word paragraphs and notebook cells parsed per second.

    python bench/formats_bench.py --copies 20

Each file is the starter corpus's own note of that format (scripts/make_format_notes.py) repeated
`copies` times; the time is ingest.document.parse (conversion, cleaning, sections, chunks), median of 3.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_format_notes as notes  # noqa: E402

from ingest.document import parse  # noqa: E402
from ingest.load import read  # noqa: E402


def timed_parse(path: Path) -> tuple[float, object]:
    raw = read(path, path.parent)
    times, parsed = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        parsed = parse(raw)
        times.append(time.perf_counter() - t0)
    return median(times), parsed


def build(folder: Path, copies: int) -> dict[str, tuple[Path, int, str]]:
    """name -> (file, units it holds, unit)."""
    pdf, docx_file, nb = folder / "long.pdf", folder / "long.docx", folder / "long.ipynb"
    notes.write_pdf("\n".join([notes.TRAINING] * copies), pdf, truetype=False)
    notes.NOTEBOOK[:] = notes.NOTEBOOK * copies
    notes.write_notebook(nb)
    notes.write_docx(docx_file)
    document = notes.docx.Document(str(docx_file))
    body = list(document.paragraphs)
    for _ in range(copies - 1):                 # repeat the paragraphs (tables aside) copies times
        for paragraph in body:
            document.add_paragraph(paragraph.text, style=paragraph.style)
    document.save(str(docx_file))
    from ingest.formats.pdf import pdfium          # PDFium, through its one importer
    pages = len(pdfium.PdfDocument(str(pdf)))
    paragraphs = len(notes.docx.Document(str(docx_file)).paragraphs)
    return {"PDF": (pdf, pages, "pages"), "DOCX": (docx_file, paragraphs, "paragraphs"),
            "notebook": (nb, len(notes.NOTEBOOK), "cells")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (path, units, unit) in build(Path(tmp), args.copies).items():
            seconds, parsed = timed_parse(path)
            print(f"{name:9} {units:5} {unit:10} {seconds:6.2f} s  {units / seconds:8.1f} {unit}/s  "
                  f"{len(parsed.sections)} sections, {len(parsed.chunks)} chunks")


if __name__ == "__main__":
    main()
