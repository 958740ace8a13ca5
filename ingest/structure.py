"""Find the question sections of a cleaned document, however it marks them.

Markdown and HTML documents: headings (an <hN> tag outranks a plain '#' heading, which then
stays inside the answer as a sub-heading). Plain text: '问题8:', '【一】', 'Q:', a numbered
sequence 1. 2. 3. of title-like lines, or short lines ending in ？/?.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

FENCE = re.compile(r"^\s*(```|~~~)")
MD_HEADING_START = re.compile(r"(#{1,6})\s")
TAGGED_QUESTION = re.compile(r"^\s*(问题\s*\d+\s*[:：.、]|【[一二三四五六七八九十百\d]+】|Q\s*\d*\s*[:：.]|题目\s*\d+\s*[:：])\s*\S")
NUMBERED = re.compile(r"^\s*(\d{1,3})\s*[.、．]\s*(\S.*)$")
NUMBERED_QUESTION = re.compile(r"^\s*\d{1,3}\s*[.、．]\s*[^\n?？]{2,80}?[?？]")
QUESTION_LINE = re.compile(r"^\s*[^\s#>|`].{3,70}[？?]\s*$")
CODE_HINT = re.compile(r"[=(){}\[\]]|^\s*(def|class|import|from|return|print)\b")


@dataclass
class Section:
    path: list[str]     # heading path, outermost first; the last item is the question
    question: str
    head_start: int     # clean offset of the heading line (or body start for a preamble)
    body_start: int
    end: int


def _lines(text: str):
    """(start, end, line) for each line, with a flag for lines inside code fences."""
    pos, in_fence = 0, False
    for line in text.splitlines(keepends=True):
        fence = bool(FENCE.match(line))
        yield pos, pos + len(line), line.rstrip("\n"), in_fence or fence
        if fence:
            in_fence = not in_fence
        pos += len(line)


def find_headings(text: str, markdown: bool, strong=lambda start: False) -> list[tuple[int, int, int, str]]:
    """(line start, line end, level, title) of section headings."""
    lines = [(a, b, s) for a, b, s, fenced in _lines(text) if not fenced]
    if markdown:
        heads = [(a, b, h[0], h[1].strip("* ")) for a, b, s in lines if (h := md_heading(s))]
        tagged = [h for h in heads if strong(h[0])]
        return tagged or heads
    return _plain_headings(lines)


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


def _plain_headings(lines):
    """Tagged questions first, else numbered questions, else a numbered title chain, else ？-lines."""
    heads = [(a, b, 2, s.strip()) for a, b, s in lines if TAGGED_QUESTION.match(s) and len(s) < 160]
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


def sections(text: str, title: str, markdown: bool, strong=lambda start: False) -> list[Section]:
    """Split the document into sections with heading paths; empty sections are dropped."""
    heads = find_headings(text, markdown, strong)
    out: list[Section] = []
    if heads and text[: heads[0][0]].strip():
        out.append(Section([title], "", 0, 0, heads[0][0]))
    elif not heads and text.strip():
        out.append(Section([title], "", 0, 0, len(text)))
    stack: list[tuple[int, str]] = []
    for i, (a, b, level, name) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, name))
        if text[b:end].strip():
            out.append(Section([title] + [n for _, n in stack], name, a, b, end))
    return out
