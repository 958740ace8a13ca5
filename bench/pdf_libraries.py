"""Which PDF library reads Chinese interview notes best: text recovered in order, code indentation, speed.

    .venv/bin/python bench/pdf_libraries.py

Typesets the notes of tests/format_docs.py twice (CJK font with TrueType outlines, as word processors
embed it; and Noto's CFF outlines as fpdf2 embeds them, with its own CMap) and reads them back with each
installed library's plain-text call. Recall: characters of the source (blanks ignored) recovered in
order (difflib matching blocks). Indent: code lines found with their leading spaces intact.
"""
from __future__ import annotations

import difflib
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.format_docs import PAGE, SAMPLES, pdfium_text, pdfminer_text, pdfplumber_text, write_pdf  # noqa: E402


READERS = {"pdfplumber 0.11 (pdfminer chars)": pdfplumber_text, "pdfminer.six extract_text": pdfminer_text,
           "pypdfium2 (PDFium)": pdfium_text}


def expected(markdown: str) -> tuple[str, list[str]]:
    lines = [ln for ln in markdown.splitlines() if ln != PAGE and not ln.startswith("```")]
    text = re.sub(r"\s+", "", "".join(ln.lstrip("# ") for ln in lines))
    code, inside = [], False
    for ln in markdown.splitlines():
        if ln.startswith("```"):
            inside = not inside
        elif inside and ln.startswith(" "):
            code.append(ln)
    return text, code


def score(markdown: str, got: str) -> tuple[float, float]:
    want, code = expected(markdown)
    have = re.sub(r"\s+", "", got)
    matched = sum(b.size for b in difflib.SequenceMatcher(None, want, have, autojunk=False).get_matching_blocks())
    lines = got.replace("\r\n", "\n").splitlines()
    indented = sum(1 for ln in code if ln in lines)
    return matched / len(want), indented / max(1, len(code))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for truetype in (True, False):
            pdfs = [(md, write_pdf(md, Path(tmp) / f"{name}-{truetype}.pdf", truetype)) for name, md in SAMPLES.items()]
            for label, reader in READERS.items():
                recall, indent, per_page = [], [], []
                for md, path in pdfs:
                    times = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        text, pages = reader(path)
                        times.append(time.perf_counter() - t0)
                    r, i = score(md, text)
                    recall.append(r)
                    indent.append(i)
                    per_page.append(statistics.median(times) / max(1, pages))
                rows.append((("TrueType CJK" if truetype else "CFF CJK (fpdf2 CMap)"), label,
                             statistics.mean(recall), statistics.mean(indent), 1 / statistics.mean(per_page)))
    print(f"{'fonts':22} {'library':34} {'recall':>7} {'indent':>7} {'pages/s':>8}")
    for fonts, label, recall, indent, speed in rows:
        print(f"{fonts:22} {label:34} {recall:7.3f} {indent:7.3f} {speed:8.1f}")


if __name__ == "__main__":
    main()
