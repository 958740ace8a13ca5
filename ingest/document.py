"""One file's bytes -> chunks: decode, clean, find sections, chunk."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ingest import formats, structure
from ingest.chunk import LineIndex, chunk_section, code_regions
from ingest.clean import clean
from ingest.load import RawFile, Skip, decode_bytes
from rag.schema import Chunk


# Bump when cleaning, structure or chunking changes: the next ingest re-parses every file
# (vectors are still reused for passages whose text did not change).
PARSER_VERSION = "7"


@dataclass
class Parsed:
    source: str
    raw: str
    encoding: str
    sections: list[structure.Section]
    chunks: list[Chunk]
    replaced: int = 0       # undecodable byte sequences read as U+FFFD
    skips: list[Skip] = field(default_factory=list)     # parts of the file not read (a scanned PDF page)


def parse(raw_file: RawFile) -> Parsed | Skip:
    if formats.handles(raw_file.source):
        return parse_converted(raw_file)
    decoded = decode_bytes(raw_file.data)
    if decoded.text is None:
        return Skip(raw_file.source, decoded.encoding)
    parsed = parse_text(raw_file.source, decoded.text, decoded.encoding)
    parsed.replaced = decoded.replaced
    return parsed


def parse_text(source: str, raw: str, encoding: str = "utf-8") -> Parsed:
    suffix = PurePosixPath(source).suffix.lower()
    is_html = suffix in (".html", ".htm")
    markdown = suffix in (".md", ".markdown", ".html", ".htm") or formats.handles(source)
    doc = clean(raw, is_html=is_html, plain=not markdown)
    title = PurePosixPath(source).stem
    from_tag = lambda start: raw[doc.to_raw(start):doc.to_raw(start) + 16].lstrip().lower().startswith("<h")  # noqa: E731
    secs = structure.sections(doc.text, title, markdown, strong=from_tag)
    lines, regions = LineIndex(raw), code_regions(doc.text, markdown)
    chunks = [c for i, sec in enumerate(secs) for c in chunk_section(sec, doc, regions, lines, source, i)]
    return Parsed(source, raw, encoding, secs, chunks)


def parse_converted(raw_file: RawFile) -> Parsed | Skip:
    """A PDF, Word or notebook file: its markdown lines parsed as a note; each chunk names its page, cell or
    paragraph (line numbers and offsets count in those lines)."""
    lines = formats.convert(raw_file.source, raw_file.data)
    if isinstance(lines, str):
        return Skip(raw_file.source, lines)
    if lines.unit != "cell":
        lines = formats.promote_questions(lines)
    parsed = parse_text(raw_file.source, lines.text)
    for chunk in parsed.chunks:
        chunk.place = lines.place(chunk.line_start, chunk.line_end)
        for snippet in chunk.code:
            snippet.place = lines.place(snippet.line_start, snippet.line_end)
    parsed.skips = [Skip(f"{raw_file.source}, {where}", why) for where, why in lines.gaps]
    return parsed
