"""Pack a section's sentences and code blocks into chunks that fit the embedding budget.

Code blocks are atomic (a block larger than the budget becomes a chunk of its own); a markdown table
stays one piece when it fits the budget, else it is cut between rows; prose is cut at sentence ends,
and a sentence longer than the budget only at a jieba word boundary.
"""
from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from ingest import markdown as md
from ingest.clean import Mapped
from ingest.code import fenced_blocks, restore, unfenced_blocks
from ingest.structure import Section
from rag import text as textlib
from rag.schema import Chunk, CodeSnippet

BUDGET_TOKENS = 320      # multilingual-e5-small reads 512; keep room for the heading prefix
MIN_TAIL_TOKENS = 60     # a smaller last piece joins the chunk before it
PYTHON_HINT = re.compile(r"^\s*(def|class|import|from)\s+\w", re.M)
CJK_OR_WORD = re.compile(rf"{textlib.CJK.pattern}|[A-Za-z0-9_]+")
LATIN_RUN = re.compile(r"[A-Za-z0-9_]+")


def est_tokens(s: str) -> int:
    """Rough XLM-R token count: one per CJK character, about 1.3 per Latin word."""
    cjk = len(textlib.CJK.findall(s))
    latin = len(LATIN_RUN.findall(s))
    return cjk + int(latin * 1.3) + 1


@dataclass
class Unit:
    start: int          # clean offsets
    end: int
    text: str
    code: CodeSnippet | None = None


class LineIndex:
    """Raw offset -> 1-based line number."""

    def __init__(self, raw: str):
        self.starts = [0] + [i + 1 for i, ch in enumerate(raw) if ch == "\n"]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def code_regions(clean: str, markdown: bool) -> list[tuple[int, int, str]]:
    """Code blocks (fenced in markdown, Python runs in plain text) and, in markdown, tables ("table")."""
    if not markdown:
        return unfenced_blocks(clean)
    tables = [(t.start, t.end, "table") for t in md.tables(clean)]
    return sorted(fenced_blocks(clean) + tables) if tables else fenced_blocks(clean)


def section_units(sec: Section, doc: Mapped, regions, lines: LineIndex) -> list[Unit]:
    units, pos = [], sec.body_start
    # regions are sorted and disjoint: start at the first one ending inside this section, rather than
    # walking every region of the file for every section.
    first = bisect.bisect_right(regions, sec.body_start, key=lambda region: region[1])
    for a, b, lang in regions[first:]:
        if a >= sec.end:
            break
        a, b = max(a, sec.body_start), min(b, sec.end)
        units += _prose_units(doc.text, pos, a)
        units += _table_units(doc.text, a, b) if lang == "table" else [_code_unit(doc, a, b, lang, lines)]
        pos = b
    return units + _prose_units(doc.text, pos, sec.end)


def _prose_units(clean: str, a: int, b: int) -> list[Unit]:
    units = []
    for s, e in textlib.split_sentences(clean[a:b]):
        units += _split_long(clean, a + s, a + e)
    return units


def _table_units(clean: str, a: int, b: int) -> list[Unit]:
    """A table whole when it fits the budget, else row by row (a row over the budget is cut like a sentence)."""
    if est_tokens(clean[a:b]) <= BUDGET_TOKENS:
        return [Unit(a, b, clean[a:b])] if clean[a:b].strip() else []
    units, pos = [], a
    for row in clean[a:b].splitlines(keepends=True):
        units += _split_long(clean, pos, pos + len(row))
        pos += len(row)
    return units


def _split_long(clean: str, a: int, b: int) -> list[Unit]:
    """A sentence over the budget is cut at word boundaries near the budget."""
    out = []
    # est_tokens gives at most 1.3 per character + 1: most sentences need no count at all.
    remaining = _TokensFrom(clean, a, b) if 1.3 * (b - a) + 1 > BUDGET_TOKENS else lambda _: 0
    while remaining(a) > BUDGET_TOKENS:
        # cut_at_word reads at most limit + 32 characters: a window of twice the budget gives the
        # same cut without copying the rest of a megabyte line on every step.
        cut = a + textlib.cut_at_word(clean[a:min(b, a + 2 * BUDGET_TOKENS)], BUDGET_TOKENS)
        out.append(Unit(a, cut, clean[a:cut]))
        a = cut
    if clean[a:b].strip():
        out.append(Unit(a, b, clean[a:b]))
    return out


class _TokensFrom:
    """est_tokens(clean[a:b]) for any a in [start, b), from one scan of the sentence.

    Recounting the rest of the sentence after every cut made one long line (a minified page, a base64
    image) quadratic. CJK characters and Latin runs are found once; a count is then two bisections. A
    run the cut falls inside still counts once, as the slice's own findall would count its tail.
    """

    def __init__(self, clean: str, start: int, b: int):
        self.cjk = [m.start() for m in textlib.CJK.finditer(clean, start, b)]
        self.run_ends = [m.end() for m in LATIN_RUN.finditer(clean, start, b)]

    def __call__(self, a: int) -> int:
        cjk = len(self.cjk) - bisect.bisect_left(self.cjk, a)
        latin = len(self.run_ends) - bisect.bisect_right(self.run_ends, a)
        return cjk + int(latin * 1.3) + 1


def _code_unit(doc: Mapped, a: int, b: int, lang: str, lines: LineIndex) -> Unit:
    block = doc.text[a:b]
    fenced = block.lstrip().startswith(("```", "~~~"))
    inner_a, inner_b = a, b
    if fenced:                                                # drop the fences from the snippet
        opening_end = block.find("\n")
        inner_a = a + opening_end + 1 if opening_end >= 0 else b     # a lone fence line holds no code
        body = block.rstrip()
        last = body.rfind("\n")
        closed = opening_end >= 0 and body[last + 1:].lstrip().startswith(("```", "~~~"))
        inner_b = a + last + 1 if closed else b
    while inner_b > inner_a and doc.text[inner_b - 1].isspace():   # the snippet ends at its last character
        inner_b -= 1
    code = restore(doc.text[inner_a:inner_b])
    text = block if fenced else code + "\n"
    if not code.strip():
        return Unit(a, b, text)
    if lang == "text" and PYTHON_HINT.search(code):
        lang = "python"
    ra, rb = doc.to_raw(inner_a), doc.to_raw(inner_b, end=True)
    snippet = CodeSnippet(lang, code, ra, rb, lines.line(ra), lines.line(max(ra, rb - 1)))
    return Unit(a, b, text, snippet)


def pack(units: list[Unit]) -> list[list[Unit]]:
    """Greedy packing up to the budget; a short tail joins the previous group."""
    groups, current, size = [], [], 0
    for unit in units:
        cost = est_tokens(unit.text)
        if current and size + cost > BUDGET_TOKENS:
            groups.append(current)
            current, size = [], 0
        current.append(unit)
        size += cost
    if current:
        tail_small = sum(est_tokens(u.text) for u in current) < MIN_TAIL_TOKENS
        if groups and tail_small and not any(u.code for u in current):
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def chunk_section(sec: Section, doc: Mapped, regions, lines: LineIndex, source: str, ordinal: int) -> list[Chunk]:
    chunks = []
    for k, group in enumerate(pack(section_units(sec, doc, regions, lines))):
        body = "".join(u.text for u in group).strip()
        if not CJK_OR_WORD.search(body):
            continue
        first, last = group[0].start, group[-1].end
        while last > first and doc.text[last - 1].isspace():
            last -= 1
        while first < last and doc.text[first].isspace():
            first += 1
        start, end = doc.to_raw(first), doc.to_raw(last, end=True)
        digest = hashlib.sha1(f"{source}\0{ordinal}\0{k}\0{body}".encode()).hexdigest()[:16]
        chunks.append(Chunk(
            id=digest, source=source, start=start, end=end,
            line_start=lines.line(start), line_end=lines.line(max(start, end - 1)),
            heading=sec.path, question=sec.question, text=body,
            code=[u.code for u in group if u.code], meta=dict(doc.meta)))
    return chunks
