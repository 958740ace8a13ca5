"""Find the question sections of a cleaned document, however it marks them.

Markdown and HTML documents: '#' headings as markdown-it reads them (an <hN> tag outranks a plain '#'
heading, which then stays inside the answer as a sub-heading); inside a heading's section, two or more
question lines ('**Q: …**', '**为什么…？**', 'Q1: …', '面试官：…') each open a question; a FAQ table
(问题 | 答案) gives one question per row. A numbered heading ('## 3.2.1 …') nests under the heading
whose number it extends ('## 3.2 …') even at the same '#' level.
Plain text: '问题8:', '【一】', 'Q:', '面试官：', a numbered sequence 1. 2. 3. of title-like lines,
or short lines ending in ？/?.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from ingest import markdown as md

MD_HEADING_START = re.compile(r"(#{1,6})\s")
TAGGED_QUESTION = re.compile(r"^\s*(问题\s*\d+\s*[:：.、]|【[一二三四五六七八九十百\d]+】|Q\s*\d*\s*[:：.]|题目\s*\d+\s*[:：])\s*\S")
# A speaker label of an interview dialogue: the interviewer's line is the question, the title drops the label.
SPEAKER = re.compile(r"^\s*(?:面试官|问)\s*[:：]\s*(?=\S)")
NUMBERED = re.compile(r"^\s*(\d{1,3})\s*[.、．]\s*(\S.*)$")
NUMBERED_QUESTION = re.compile(r"^\s*\d{1,3}\s*[.、．]\s*[^\n?？]{2,80}?[?？]")
QUESTION_LINE = re.compile(r"^\s*[^\s#>|`].{3,70}[？?]\s*$")
CODE_HINT = re.compile(r"[=(){}\[\]]|^\s*(def|class|import|from|return|print)\b")
WHOLE_BOLD = re.compile(r"^\s*(\*\*|__)(?=\S).+?\1\s*[:：]?\s*$")
SECTION_NUMBER = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,3})*)(?![\d.]*\d)")
FAQ_HEADER = re.compile(r"^(问题|题目|问|面试题|q|question|questions)$", re.I)
INLINE_LEVEL = 7            # deeper than any '#': a question line or FAQ row nests under every heading
MAX_TITLE = 160


@dataclass
class Section:
    path: list[str]     # heading path, outermost first; the last item is the question
    question: str
    head_start: int     # clean offset of the heading line (or body start for a preamble)
    body_start: int
    end: int


def _lines(text: str):
    """(start, end, line, fenced) for each line; fenced: a line of a code fence (markdown-it's rule)."""
    is_fenced, pos = md.in_fence(text), 0
    for line in text.splitlines(keepends=True):
        yield pos, pos + len(line), line.rstrip("\n"), is_fenced(pos)
        pos += len(line)


def find_headings(text: str, markdown: bool, strong=lambda start: False) -> list[tuple[int, int, int, str]]:
    """(line start, line end, level, title) of section headings."""
    lines = [(a, b, s) for a, b, s, fenced in _lines(text) if not fenced]
    if not markdown:
        return _plain_headings(lines)
    heads = [(h.start, h.end, *parsed) for h in md.headings(text) if (parsed := _md_title(h.info))]
    tagged = [h for h in heads if strong(h[0])]
    heads = tagged or heads
    extra = _question_lines(heads, lines, text) + [row[:4] for row in _faq_rows(text)]
    return sorted(heads + extra) if extra else heads


def _md_title(line: str) -> tuple[int, str] | None:
    found = md_heading(line.lstrip(" "))
    return (found[0], found[1].strip("* ")) if found else None


def md_heading(line: str) -> tuple[int, str] | None:
    """(level, title) of a '#' heading line, as the regex ^(#{1,6})\\s+(.+?)\\s*#*\\s*$ reads it.

    The regex retried its lazy title at every character, scanning the blanks and '#'s after it each
    time: quadratic on a long run of spaces. Stripping the closing blanks, '#'s, blanks is one pass.
    """
    m = MD_HEADING_START.match(line)
    if not m:
        return None
    rest = line[m.end() - 1:]
    body = rest.lstrip()
    if not body:                         # "##   ": the regex's title is one of the blanks
        return (len(m.group(1)), rest[-1]) if len(rest) > 1 else None
    kept = len(body.rstrip().rstrip("#").rstrip())
    return len(m.group(1)), body[:max(1, kept)]


def question_title(line: str, bold_questions: bool = True) -> str | None:
    """The question a line asks, or None: '**Q1: 什么是 NMS？**' -> 'Q1: 什么是 NMS？', '面试官：讲讲 BN' -> '讲讲 BN'."""
    bare = line.strip().replace("**", "")
    if bare.startswith("__") and bare.endswith("__"):
        bare = bare[2:-2]
    bare = bare.strip()
    if not bare or len(bare) >= MAX_TITLE:
        return None
    speaker = SPEAKER.match(bare)
    if speaker:
        return bare[speaker.end():]
    if TAGGED_QUESTION.match(bare):
        return bare
    asks = bare.rstrip(":： ").endswith(("?", "？"))
    return bare.rstrip(":： ") if bold_questions and asks and WHOLE_BOLD.match(line) else None


def _question_lines(heads, lines, text: str) -> list[tuple[int, int, int, str]]:
    """Question lines of each heading's section, where a section holds at least two of them.

    One bold question inside an answer is a follow-up of that answer; a run of them is a list of questions.
    """
    starts = [h[0] for h in heads]
    taken, tables = set(starts), [(t.start, t.end) for t in md.tables(text)]
    found: dict[int, list] = {}
    for a, b, s in lines:
        t = bisect.bisect_right(tables, (a, len(text) + 1)) - 1
        if a in taken or (t >= 0 and a < tables[t][1]):
            continue
        title = question_title(s)
        if title:          # grouped by the heading above it
            found.setdefault(bisect.bisect_left(starts, a), []).append((a, b, INLINE_LEVEL, title))
    return [q for group in found.values() if len(group) >= 2 for q in group]


def _faq_rows(text: str) -> list[tuple[int, int, int, str, int, int]]:
    """(start, answer start, level, question, answer end, resume) for each body row of a FAQ table.

    A FAQ table's first column is headed 问题/Q/Question, or most of its first cells end with '?'.
    The first question's heading span starts at the table, so the header rows go with it; after the
    last row the enclosing section resumes at the table's end.
    """
    out = []
    for table, table_rows in md.tables_with_rows(text):
        rows = [(r, md.cells(r.line)) for r in table_rows]
        body = [(r, c) for r, c in rows[1:] if len(c) >= 2 and r.line[slice(*c[0])].strip()]
        if len(rows) < 3 or len(body) < 2:
            continue
        head = rows[0][0].line[slice(*rows[0][1][0])].strip("* ") if rows[0][1] else ""
        asks = sum(r.line[slice(*c[0])].rstrip().endswith(("?", "？")) for r, c in body)
        if not FAQ_HEADER.match(head) and asks * 2 <= len(body):
            continue
        for i, (row, cells) in enumerate(body):
            start = table.start if i == 0 else row.start
            resume = table.end if i == len(body) - 1 else body[i + 1][0].start
            question = row.line[slice(*cells[0])].replace("**", "").strip()
            out.append((start, row.start + cells[1][0], INLINE_LEVEL, question, row.start + cells[-1][1], resume))
    return out


def _plain_headings(lines):
    """Tagged questions first, else numbered questions, else a numbered title chain, else ？-lines."""
    heads = [(a, b, 2, t) for a, b, s in lines if len(s) < MAX_TITLE and (t := question_title(s, False))]
    if not heads:
        heads = _numbered_questions(lines)
    if len(heads) < 3:
        heads = sorted(set(heads) | set(_numbered_chain(lines)))
    if not heads:
        heads = [(a, b, 2, s.strip()) for a, b, s in lines
                 if QUESTION_LINE.match(s) and not CODE_HINT.search(s)]
    return heads


def _numbered_questions(lines):
    """'6. RNN 和 LSTM 的区别是什么? RNN 存在…': the title ends at the question mark, the answer may follow."""
    heads = []
    for a, b, s in lines:
        m = NUMBERED_QUESTION.match(s)
        if m:
            heads.append((a, a + m.end(), 2, m.group(0).strip()))
    return heads


def _numbered_chain(lines):
    """The longest run 1, 2, 3, … of short, title-like numbered lines (answer lists restart and lose).

    Each '1' starts a chain that takes the next 2, then the next 3, …; the first longest chain wins.
    Chains waiting for the same number take the same lines from then on and end equally long, so only
    the earliest is kept: one pass instead of one pass per '1' (quadratic on a long numbered list).
    """
    candidates = [(int(m.group(1)), a, b, s.strip()) for a, b, s in lines
                  if (m := NUMBERED.match(s)) and len(s) <= 80 and not s.rstrip().endswith(("。", "；", ";", "，"))]
    waiting: dict[int, list] = {}          # number wanted next -> the earliest chain wanting it
    for cand in candidates:
        chain = [cand] if cand[0] == 1 else waiting.pop(cand[0], None)
        if chain is None:
            continue
        if chain[0] is not cand:
            chain.append(cand)
        want = cand[0] + 1
        if want not in waiting or chain[0][1] < waiting[want][0][1]:
            waiting[want] = chain
    best = max(waiting.values(), key=len, default=[])      # lengths differ: each is its wanted number - 1
    return [(a, b, 2, s) for _, a, b, s in best] if len(best) >= 3 else []


def _nests(parent: str, child: str) -> bool:
    """A numbered title extends its parent's number: _nests("3.2 CNN", "3.2.1 卷积？") -> True."""
    p, c = SECTION_NUMBER.match(parent), SECTION_NUMBER.match(child)
    return bool(p and c) and c.group(1).startswith(p.group(1) + ".")


def sections(text: str, title: str, markdown: bool, strong=lambda start: False) -> list[Section]:
    """Split the document into sections with heading paths; empty sections are dropped."""
    heads = find_headings(text, markdown, strong)
    rows = {row[0]: row[4:] for row in _faq_rows(text)} if markdown and md.tables(text) else {}
    out: list[Section] = []
    if heads and text[: heads[0][0]].strip():
        out.append(Section([title], "", 0, 0, heads[0][0]))
    elif not heads and text.strip():
        out.append(Section([title], "", 0, 0, len(text)))
    stack: list[tuple[int, str]] = []
    for i, (a, b, level, name) in enumerate(heads):
        following = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        end, resume = rows.get(a, (following, following))
        while stack and (stack[-1][0] > level or stack[-1][0] == level and not _nests(stack[-1][1], name)):
            stack.pop()
        stack.append((level, name))
        if text[b:end].strip():
            out.append(Section([title] + [n for _, n in stack], name, a, b, end))
        if resume < following and text[resume:following].strip():     # after a FAQ table: the enclosing section
            outer = stack[:-1]
            out.append(Section([title] + [n for _, n in outer], outer[-1][1] if outer else "", resume, resume, following))
    return out
