"""One file's bytes -> chunks: decode, clean, find sections, chunk."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ingest import structure
from ingest.chunk import LineIndex, chunk_section, code_regions
from ingest.clean import clean
from ingest.load import RawFile, Skip, decode
from rag.schema import Chunk


# Bump when cleaning, structure or chunking changes: the next ingest re-parses every file
# (vectors are still reused for passages whose text did not change).
PARSER_VERSION = "5"


@dataclass
class Parsed:
    source: str
    raw: str
    encoding: str
    sections: list[structure.Section]
    chunks: list[Chunk]


def parse(raw_file: RawFile) -> Parsed | Skip:
    text, encoding = decode(raw_file.data)
    if text is None:
        return Skip(raw_file.source, encoding)
    return parse_text(raw_file.source, text, encoding)


def parse_text(source: str, raw: str, encoding: str = "utf-8") -> Parsed:
    suffix = PurePosixPath(source).suffix.lower()
    is_html, markdown = suffix in (".html", ".htm"), suffix in (".md", ".markdown", ".html", ".htm")
    doc = clean(raw, is_html=is_html, plain=not markdown)
    title = PurePosixPath(source).stem
    from_tag = lambda start: raw[doc.to_raw(start):doc.to_raw(start) + 16].lstrip().lower().startswith("<h")  # noqa: E731
    secs = structure.sections(doc.text, title, markdown, strong=from_tag)
    lines, regions = LineIndex(raw), code_regions(doc.text, markdown)
    chunks = [c for i, sec in enumerate(secs) for c in chunk_section(sec, doc, regions, lines, source, i)]
    return Parsed(source, raw, encoding, secs, chunks)
