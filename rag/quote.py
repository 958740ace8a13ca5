"""The notes' own words under the model's answer: the opening of the best sections, quoted and cited.

A small model's short answer drops most of what the notes say (measured: the top two passages'
openings held 0.86 of a right answer's key points, the model's answers 0.39), and what it adds on its
own is where the wrong claims come from. So the model writes the direct answer in a sentence or two,
and the answer goes on with the sections' opening lines as written, each sentence cited:

    quote_lines("ROIPool 两次量化。\\n```py\\nx\\n```\\nROIAlign 用双线性插值。", 1, 200)
        -> ["ROIPool 两次量化 [1]。", "ROIAlign 用双线性插值 [1]。"]
"""
from __future__ import annotations

import re

from rag import text as textlib
from rag.grounding import content_units
from rag.render import terminal
from rag.prompt import FENCED, LABEL_LINE, MARKER, cite, prose, split_code, without_code

FIRST_CHARS = 400           # of the best section's opening (its first 400 characters held 0.70 of the key points)
OTHER_CHARS = 200           # of the second section's, when it is about as close to the question
# The second section is quoted when its closeness to the question (cosine above the background
# sentences, rag/scope.py) is at least this share of the first's: a neighbouring topic falls well below.
SECOND_CLOSENESS = 2 / 3
MIN_CHARS = 12              # a shorter line ("详见：", "3.") says nothing worth quoting
COVERED_SHARE = 0.8         # a note sentence whose words the answer already holds is not repeated
WORDY_SHARE = 0.4          # of a quoted line's characters, letters or CJK (the rest: digits, punctuation)
WRAP_SHARE = 0.8            # a line this close to a passage's longest line was wrapped by its width
SKIPPED_LINE = re.compile(r"^\s*(?:#|\||!\[|<|(?:详见|参考|参考资料|链接|来源)[:：\s])")
CLOSERS = "。！？!?.…"
QUOTE_LABEL = {"zh": "笔记原文：", "en": "From your notes:"}


def prose_lines(text: str) -> list[str]:
    """The lines of a passage a reader would quote: a table's rows as lines, hard-wrapped lines joined,
    a formula in its TeX form; no code, headings, images or bare labels."""
    text = table_rows(FENCED.sub("", text))
    lines = [tex_only(re.sub(r"\s+", " ", terminal(line)).strip()) for line in text.split("\n")]   # no escape codes
    lines = unwrap([line for line in lines if not line or wordy(line)])
    return [line for line in lines if len(line) >= MIN_CHARS and not SKIPPED_LINE.match(line)
            and not LABEL_LINE.match(line)]


def wordy(line: str) -> bool:
    """Words make up much of the line: not a row of numbers a program printed ("[ -84. -40. 99. 55.]")."""
    text = re.sub(r"\s+", "", line)
    return bool(text) and len(re.findall(r"[A-Za-z]|" + textlib.CJK.pattern, text)) >= WORDY_SHARE * len(text)


TABLE_ROW = re.compile(r"^[ \t]*\|(.+)\|[ \t]*$")
RULE_ROW = re.compile(r"^[\s|:\-]+$")


def table_rows(text: str) -> str:
    """A Markdown table's rows become lines a reader can take alone, each cell after its column's name:

        table_rows("| 方法 | 维度 |\\n|---|---|\\n| One-Hot | 词表大小 |") -> "One-Hot：维度 词表大小"
    """
    out, header = [], None
    for line in text.split("\n"):
        row = TABLE_ROW.match(line)
        if not row:
            out.append(line)
            header = None
            continue
        cells = [c.strip() for c in row.group(1).split("|")]
        if RULE_ROW.match(line):
            continue
        if header is None:
            header = cells
            continue
        named = [f"{name} {cell}".strip() for name, cell in zip(header[1:], cells[1:]) if cell]
        out.append(f"{cells[0]}：" + "，".join(named) + "。")
    return "\n".join(out)


TEX_MARK = re.compile(r"[\\_^{}]")


def tex_only(line: str) -> str:
    """A formula copied from a rendered page comes three times (its glyphs, its TeX, its reading):
    a line without Chinese that holds TeX keeps the TeX alone.

        tex_only("L=Ltask+λLadv L = L_{task} + \\\\lambda L_{adv} L=Ltask+λLadv") -> "$L = L_{task} + \\\\lambda L_{adv}$"
    """
    if textlib.has_cjk(line) or "=" not in line or not TEX_MARK.search(line):
        return line
    tokens = line.split(" ")
    marked = [i for i, t in enumerate(tokens) if TEX_MARK.search(t)]
    start, end = marked[0], marked[-1]
    while start > 0 and len(tokens[start - 1]) <= 3:        # "L", "=" before the first TeX token
        start -= 1
    return "$" + " ".join(tokens[start:end + 1]).strip("$ ") + "$"


def unwrap(lines: list[str]) -> list[str]:
    """Lines a page wrapped at its width ("通常，rank 选" / "的越小，…") become one line again: a line as
    long as the passage's longest that ends mid-sentence goes on in the next, unless that is a list item."""
    width = max((len(x) for x in lines), default=0)
    out: list[str] = []
    for line in lines:
        previous = out[-1] if out else ""
        wrapped = (len(previous) >= max(20, WRAP_SHARE * width) and previous[-1:] not in CLOSERS + ":：；;$"
                   and line and not re.match(r"(?:\d{1,3}[.、)）]|[-*•+])\s", line))
        if wrapped:
            out[-1] = previous + ("" if textlib.has_cjk(previous[-1:] + line[:1]) else " ") + line
        else:
            out.append(line)
    return out


def opening(lines: list[str], budget: int, keep=lambda line: line) -> list[str]:
    """The first lines, as keep(line) leaves them, within budget characters; the line that crosses
    it ends at its last whole sentence inside the budget (or at a clause, with …, when even its first
    sentence is longer)."""
    out, used = [], 0
    for line in lines:
        over = used + len(line) > budget       # judged on the note's line, before keep() adds markers
        kept = keep(_cut(line, budget - used) if over else line)
        if over:
            if len(MARKER.sub("", kept).strip()) >= MIN_CHARS:
                out.append(kept)
            break
        if kept:
            out.append(kept)
            used += len(MARKER.sub("", kept))
    return out


def _cut(line: str, room: int) -> str:
    ends = [b for _, b in textlib.split_sentences(line) if b <= room and line[:b].rstrip()[-1:] in "。！？!?"]
    if ends:
        return line[:ends[-1]].rstrip()
    if room < 40:
        return ""
    clause = max((m.end() for m in re.finditer(r"[，,；;：:]", line[:room])), default=0)
    return line[:clause].rstrip("，,；;：: ") + "…" if clause >= 20 else ""


def covered(sentence: str, said: set[str]) -> bool:
    units = content_units(sentence)
    return bool(units) and len(units & said) / len(units) >= COVERED_SHARE


FULL_STOP = re.compile(r"[^。！？!?]*(?:[。！？!?]+[”’」』)）》]?[。！？!?]*|$)")      # "《…Fail?》。" is one sentence


def _brackets_as_code(line: str) -> str:
    """The note's own "[3]" or "coins = [1, 2, 5]" is data, not a citation of passage 3: quoted as code,
    where no citation is read (and the chat shows it as written)."""
    return "".join(part if code else MARKER.sub(lambda m: f"`{m.group(0)}`", part) for part, code in split_code(line))


def _sentences(line: str) -> list[str]:
    """The line's sentences, ends found in its prose only: a "。" or "!=" inside inline code ends nothing."""
    return [line[m.start():m.end()] for m in FULL_STOP.finditer(prose(line)) if m.end() > m.start()]


def cited_line(line: str, n: int, said: set[str]) -> str:
    """Each sentence of a line cited [n]; sentences whose words are already said are left out, and
    the words of those kept count as said from then on."""
    kept = []
    for sentence in (x.strip() for x in _sentences(_brackets_as_code(line))):
        if textlib.WORD.search(sentence) and not covered(sentence, said):
            kept.append(cite(sentence, n))
            said |= set(textlib.tokenize(sentence))
    return "".join(kept)


def quote_lines(text: str, n: int, budget: int, said: set[str] | None = None) -> list[str]:
    """The opening lines of a passage's text, each sentence cited [n], none the answer already says."""
    said = set() if said is None else said
    return opening(prose_lines(text), budget, lambda line: cited_line(line, n, said))


def quoted(passages, lead: str, closeness: dict[str, float]) -> str:
    """The quotes that follow the model's answer: the best section's opening, and the second
    section's when it is about as close to the question (closeness: by chunk id)."""
    said = content_units(lead)
    lines = quote_lines(without_code(passages[0].hit.chunk), passages[0].n, FIRST_CHARS, said)
    if len(passages) > 1 and _about_as_close(passages[1], passages[0], closeness):
        lines += quote_lines(without_code(passages[1].hit.chunk), passages[1].n, OTHER_CHARS, said)
    return "\n".join(closed(lines))


def _about_as_close(second, first, closeness: dict[str, float]) -> bool:
    best = closeness.get(first.hit.chunk.id, 0.0)
    return best > 0 and closeness.get(second.hit.chunk.id, 0.0) >= SECOND_CLOSENESS * best


def closed(lines: list[str]) -> list[str]:
    """The quote ends as a whole sentence: trailing labels ("流程如下：") introduce what is not shown and
    go; a last note line without a full stop (a list item) gets one."""
    lines = list(lines)
    while lines and MARKER.sub("", lines[-1]).rstrip().endswith((":", "：")):
        lines.pop()
    if lines and MARKER.sub("", lines[-1]).rstrip()[-1:] not in CLOSERS:
        lines[-1] = lines[-1].rstrip().rstrip(";；,，") + ("。" if textlib.has_cjk(lines[-1]) else ".")
    return lines


def own_words(text: str) -> str:
    """The part of an answer above its quotes: the model's own words."""
    return re.split(r"\n\n(?:%s)\n" % "|".join(map(re.escape, QUOTE_LABEL.values())), text, maxsplit=1)[0]


def with_quotes(turn, text: str) -> str:
    """The model's answer followed by the notes' own words (an extractive answer is quotes already)."""
    if turn.mode != "llm" or not turn.passages:
        return text
    lines = quoted(turn.passages, text, turn.closeness)
    return f"{text}\n\n{QUOTE_LABEL[turn.language]}\n{lines}".strip() if lines else text
