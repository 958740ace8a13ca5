"""The model's text becomes the answer's text through one ordered list of named repairs.

Each repair takes the text and the answer's Context and returns the text; `run` applies them in
order and names those that changed something, so `bench/answer_bench.py` counts how often each one
fires over the dev questions (a repair that never fires goes). The first undo a small model's habits
(a second paragraph, a retold heading or question, a marker left bare); the last ones check citations
against the passages and leave out sentences the notes do not hold.

    run("ROIAlign 不取整 [1]。\n```py\nx\n```", Context("ROIAlign?", passages={1: "ROIAlign 不取整。"}))
        -> ("ROIAlign 不取整 [1]。", ["own_code"])
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

from rag import prompt as promptlib
from rag import text as textlib
from rag.generate import FENCE_OPEN, lead_only
from rag.grounding import SENTENCE_CLOSERS, SUPPORT_SHARE, content_units, ends_mid_sentence, is_bare, prose_spans, support
from rag.prompt import MARKER, drop_dangling_labels, sub_markers, unmarked

CLOSE_PUNCT = "。.!！?？;；"
NOTICES = {
    "own_code": "The model began code of its own; it was stopped there (code from your notes is listed with the sources).",
    "unheld_sentence": "Sentences of the model's own that the notes do not hold were left out.",
}
UNFINISHED_TRIMMED = "The model left its last sentence unfinished; the answer ends at its last whole sentence."
UNFINISHED_MARKED = "The model left its last sentence unfinished."


@dataclass
class Context:
    question: str
    headers: list[str] = field(default_factory=list)        # the shown passages' headings
    passages: dict[int, str] = field(default_factory=dict)  # n -> the passage's whole text
    choose: Callable[[str], int | None] = lambda sentence: None   # the passage an uncited sentence is from
    notices: list[str] = field(default_factory=list)


def own_code(text: str, ctx: Context) -> str:
    """Code the model began is left out (generation stops there too): the notes' own code is listed."""
    fence = FENCE_OPEN.search(text)
    return text[:fence.start()] if fence else text


def second_paragraph(text: str, ctx: Context) -> str:
    """The model's direct answer is its first paragraph that says something; the notes' lines follow it."""
    return lead_only(text)


def echoed_question(text: str, ctx: Context) -> str:
    """Small models sometimes end by repeating the question; that line is not part of the answer."""
    target = textlib.squash(ctx.question).casefold().rstrip("?？")
    return "\n".join(line for line in text.splitlines()
                     if textlib.squash(MARKER.sub("", line)).casefold().rstrip("?？") != target)


def echoed_heading(text: str, ctx: Context) -> str:
    return drop_echoed_headers(text, ctx.headers).strip()


def rule_echo(text: str, ctx: Context) -> str:
    """"来源编号为 [2]。" or "Source: [1]." repeats the citation instruction and says nothing."""
    return _drop(text, [(a, b) for a, b in prose_spans(text) if is_rule_echo(text[a:b])])


def bare_marker(text: str, ctx: Context) -> str:
    return _reattach_bare_markers(text)


def unfinished_end(text: str, ctx: Context) -> str:
    """The answer ends at its last whole sentence, or shows with … where it stopped."""
    if not ends_mid_sentence(text):
        return text.strip()
    closed = [b for a, b in prose_spans(text) if MARKER.sub("", text[a:b]).rstrip()[-1:] in SENTENCE_CLOSERS]
    ctx.notices.append(UNFINISHED_TRIMMED if closed else UNFINISHED_MARKED)
    if closed:
        return text[:closed[-1]].strip()
    return text.rstrip() + "…"


def uncited_sentence(text: str, ctx: Context) -> str:
    """A sentence with no marker cites the passage that holds it (small models often forget)."""
    return promptlib.attribute(text, ctx.choose)[0]


def invalid_marker(text: str, ctx: Context) -> str:
    """Markers pointing at no shown passage go; the others are written [n]."""
    return promptlib.check_citations(text, len(ctx.passages))[0]


def wrong_passage_cited(text: str, ctx: Context) -> str:
    return correct_citations(text, ctx.passages)[0]


def unheld_sentence(text: str, ctx: Context) -> str:
    return drop_unheld(text, ctx.passages)[0]


Repair = Callable[[str, Context], str]
# Kept because each fired on the 90 dev questions (bench/RESULTS.md), but own_code: the guard of "no code
# of the model's own" when a model does begin code. Four that never fired there went: a recited prompt, a
# repeated sentence (the direct answer's three-sentence cap bounds a loop), a label with nothing under
# it, a decline sentence after an answer (the prompt no longer names one).
REPAIRS: list[Repair] = [own_code, second_paragraph, echoed_question, echoed_heading, rule_echo, bare_marker,
                         unfinished_end, uncited_sentence, invalid_marker, wrong_passage_cited, unheld_sentence]
RECITALS = REPAIRS[:REPAIRS.index(echoed_heading) + 1]     # what is left of the text is the model's own


def run(text: str, ctx: Context, repairs: list[Repair] = REPAIRS) -> tuple[str, list[str]]:
    """The repaired text and the names of the repairs that changed it, in order."""
    fired = []
    for repair in repairs:
        repaired = repair(text, ctx)
        if repaired != text:
            fired.append(repair.__name__)
            ctx.notices.extend([NOTICES[repair.__name__]] if repair.__name__ in NOTICES else [])
        text = repaired
    return text, fired


# ---- the pieces the repairs share --------------------------------------------------------------------

def drop_echoed_headers(text: str, headers: list[str]) -> str:
    """Small models copy a passage's "[n] heading" line into the answer; the heading is not an answer.

        drop_echoed_headers("[1] 检测 › NMS\nNMS 删除重叠框 [1]。", ["检测 › NMS"]) -> "NMS 删除重叠框 [1]。"
    """
    for header in filter(None, headers):
        h = re.escape(header)
        text = re.sub(rf"^[ \t]*\[\d{{1,2}}\][ \t]*{h}[ \t]*(?:\[\d{{1,2}}\])?[ \t]*\n?", "", text, flags=re.M)
        text = re.sub(rf"^[ \t]*{h}[ \t]*\n", "", text, flags=re.M)       # a line that is the heading alone
        # "[1] 检测 › 接着是正文": the start of the heading path, then the model's own text
        parts = header.split(" › ")
        for k in range(len(parts) - 1, 0, -1):
            lead = re.escape(" › ".join(parts[:k]))
            text = re.sub(rf"^([ \t]*)\[\d{{1,2}}\][ \t]*{lead}[ \t]*›[ \t]*", r"\1", text, flags=re.M)
        last = re.escape(parts[-1])     # the passage's own question on a line of its own
        text = re.sub(rf"^[ \t]*(?:\[\d{{1,2}}\])?[ \t]*{last}[ \t]*(?:\[\d{{1,2}}\])?[ \t]*(?:\n|$)", "", text, flags=re.M)
    return _drop_heading_lines(text, headers)


def heading_key(line: str) -> str:
    """A heading as written or as a model retells it: "10.加入Controlnet训练后？" and "[1] 加入 ControlNet
    训练后。" share one key (numbering, markers, case, spaces and punctuation aside)."""
    line = re.sub(r"^[ \t>*#•\-]*(?:\d{1,3}(?:\.\d{1,3})*[.、)）]?)?", "", MARKER.sub("", line).strip())
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", line)).casefold()


def _drop_heading_lines(text: str, headers: list[str]) -> str:
    """A line that is only one of the shown headings, retold (a question or a topic, not an answer), and
    a retold heading opening a line as in the prompt ("[1] 加入Controlnet训练后的变化。正文…")."""
    keys = {k for header in headers for part in header.split(" › ") if len(k := heading_key(part)) >= 4}
    kept = []
    for line in text.split("\n"):
        if heading_key(line) in keys:
            continue
        opening = re.match(r"[ \t]*\[\d{1,2}\][ \t]*[^\n。？?！!]+[。？?！!][ \t]*", line)
        if opening and heading_key(opening.group(0)) in keys:
            line = line[opening.end():]
        kept.append(line)
    return "\n".join(kept)


def drop_echoed_question(text: str, question: str) -> str:
    """Small models sometimes end by repeating the question; that line is not part of the answer."""
    target = textlib.squash(question).casefold().rstrip("?？")
    return "\n".join(line for line in text.splitlines()
                     if textlib.squash(MARKER.sub("", line)).casefold().rstrip("?？") != target)


RULE_ECHO = re.compile(r"^(?:(?:来源|出处|参考|引用)(?:编号|笔记)?(?:为|是|见|如下)?"
                       r"|(?:sources?|notes?|see)(?: numbers?)?(?: is| are)?)[ \t:：]*[。.]?$", re.I)


def is_rule_echo(sentence: str) -> bool:
    """"来源编号为 [2]。" or "Source: [1]." repeats the citation instruction and says nothing."""
    return bool(RULE_ECHO.match(unmarked(sentence))) and bool(MARKER.search(sentence))


def correct_citations(text: str, passages: dict[int, str]) -> tuple[str, int]:
    """A sentence whose cited passage does not hold it, but another passage does, cites that one:
    small models often number the right sentence with the first passage's marker.

        correct_citations("BN 用滑动均值 [1]。", {1: "ROIAlign 不取整。", 2: "BN 推理时用滑动均值。"}) -> ("BN 用滑动均值 [2]。", 1)
    """
    held = {n: content_units(p) for n, p in passages.items()}
    fixed = 0
    for s in reversed(support(text, passages)):
        sentence = text[s.start:s.end]
        units = content_units(sentence)
        if s.supported is not False or not s.cited or not units or not textlib.has_cjk(sentence):
            continue
        best = max(held, key=lambda n: len(units & held[n]))
        if len(units & held[best]) / len(units) >= SUPPORT_SHARE:
            markers = iter([f"[{best}]"])
            sentence = sub_markers(sentence, lambda m: next(markers, ""))
            text, fixed = text[:s.start] + re.sub(r"[ \t]+(?=[。.!！?？；;，,])", "", sentence) + text[s.end:], fixed + 1
    return text, fixed


def drop_unheld(text: str, passages: dict[int, str]) -> tuple[str, int]:
    """Sentences with Chinese that no passage they cite holds (judged by their words) are left out: the
    notes' own lines follow the answer, and the model's unheld sentences are where its wrong claims are.
    Sentences without Chinese are judged by vectors only (a weaker test): they stay, marked.

        drop_unheld("BN 用滑动均值 [1]。BN 让训练变慢 [1]。", {1: "BN 推理时用滑动均值。"}) -> ("BN 用滑动均值 [1]。", 1)
    """
    unheld = [(s.start, s.end) for s in support(text, passages)
              if s.supported is False and textlib.has_cjk(text[s.start:s.end])]
    if not unheld:
        return text, 0
    left = re.sub(r"(?m)^[ \t]*(?:\d{1,3}[.、)）]|[-*•+])[ \t]*$\n?", "", _drop(text, unheld))   # an item's bare number
    return drop_dangling_labels(left).strip(), len(unheld)


def _drop(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    for a, b in reversed(spans):
        text = text[:a] + text[b:]
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text))


def _reattach_bare_markers(text: str) -> str:
    """'…的融合。 [1]' -> '…的融合 [1]。'; a bare marker after a sentence that cites already is dropped."""
    for _ in range(len(text)):
        spans = prose_spans(text)
        i = next((i for i, (a, b) in enumerate(spans) if i and is_bare(text[a:b])), None)
        if i is None:
            return text
        (pa, pb), (a, b) = spans[i - 1], spans[i]
        previous = text[pa:pb]
        if not MARKER.search(previous):
            core = previous.rstrip(CLOSE_PUNCT)
            markers = " ".join(m.group(0) for m in MARKER.finditer(text[a:b]))
            previous = f"{core} {markers}{previous[len(core):]}"
        text = text[:pa] + previous + text[pb:a].rstrip(" \t") + text[b:]
    return text
