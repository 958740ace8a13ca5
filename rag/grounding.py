"""Sentence by sentence: what an answer says, whether the passage it cites holds it, and tidying the
model's habits (a decline sentence after a real answer, markers left dangling, a last sentence cut off).

    support("ROIAlign 用双线性插值 [1]。", {1: "ROIAlign 用双线性插值计算采样点。"}) -> [Sentence(..., supported=True)]

A sentence is *supported* when at least SUPPORT_SHARE of its content units occur in the passages it
cites. Content units are jieba search tokens without stopwords. 0.6 was chosen by reading answers:
paraphrases that keep the note's terms ("ROIAlign 去掉取整，用双线性插值") score 0.7-1.0, while sentences
whose claim the cited passage does not hold score 0.2-0.5. A sentence without CJK over Chinese
passages cannot share words with them; a `judge(sentence, passages) -> bool` (the multilingual
vectors) decides those. That is a weaker test: the vectors tell a sentence about the passage's topic
from one about another, not a right claim from a wrong one. Labels, headings and questions claim
nothing and are not judged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag import text as textlib
from rag.prompt import MARKER, claims_nothing, drop_dangling_labels, parse_markers, split_code, sub_markers, unmarked

SUPPORT_SHARE = 0.6
MIN_UNITS = 2               # "好的。" says nothing to check
DECLINE_PHRASES = ("笔记中没有相关内容", "笔记中没有找到", "没有相关内容", "The notes do not cover")
SENTENCE_CLOSERS = "。！？!?.…）)」』”\"'`*"        # not ；: a clause ends there, the sentence goes on
CLOSE_PUNCT = "。.!！?？;；"
RULE_ECHO = re.compile(r"^(?:(?:来源|出处|参考|引用)(?:编号|笔记)?(?:为|是|见|如下)?"
                       r"|(?:sources?|notes?|see)(?: numbers?)?(?: is| are)?)[ \t:：]*[。.]?$", re.I)


@dataclass
class Sentence:
    start: int                  # offsets into the answer text
    end: int
    cited: list[int]
    supported: bool | None      # None: too short to judge, a label, heading or question, or a decline

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "cited": self.cited, "supported": self.supported}


def prose_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the prose sentences of text (code blocks are not sentences), whitespace trimmed; a
    clause closed by a semicolon belongs to the sentence it opens ("A；B [1]。" is one sentence)."""
    spans, offset = [], 0
    for part, is_code in split_code(text, inline=False):
        if not is_code:
            for a, b in _whole_sentences(part):
                s = part[a:b]
                lead, body = len(s) - len(s.lstrip()), s.strip()
                if body:
                    spans.append((offset + a + lead, offset + a + lead + len(body)))
        offset += len(part)
    return spans


def _whole_sentences(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in textlib.split_sentences(text):
        if out and text[out[-1][0]:out[-1][1]].rstrip(" \t").endswith(("；", ";")):
            a = out.pop()[0]
        out.append((a, b))
    return out


def content_units(sentence: str) -> set[str]:
    return set(textlib.tokenize(MARKER.sub(" ", sentence)))


def is_decline(sentence: str) -> bool:
    return any(p in sentence for p in DECLINE_PHRASES)


def is_rule_echo(sentence: str) -> bool:
    """"来源编号为 [2]。" or "Source: [1]." repeats the citation instruction and says nothing."""
    return bool(RULE_ECHO.match(unmarked(sentence))) and bool(MARKER.search(sentence))


def is_bare(sentence: str) -> bool:
    """A 'sentence' that is only markers: "[1]" dangling after a full stop or on its own line."""
    return bool(MARKER.search(sentence)) and not re.sub(r"[\W_]", "", MARKER.sub("", sentence))


def support(text: str, passages: dict[int, str], judge=None) -> list[Sentence]:
    """Each prose sentence with the markers it carries and whether the passages it cites hold it."""
    out = []
    units_of = {n: content_units(p) for n, p in passages.items()}       # each passage tokenized once
    for a, b in prose_spans(text):
        sentence = text[a:b]
        cited = [n for n in dict.fromkeys(parse_markers(sentence)) if n in passages]
        units = content_units(sentence)
        verdict = None
        if len(units) >= MIN_UNITS and not is_decline(sentence) and not claims_nothing(sentence):
            held = [passages[n] for n in cited]
            if not held:
                verdict = False
            elif judge and not textlib.has_cjk(sentence) and textlib.has_cjk("".join(held)):
                verdict = bool(judge(unmarked(sentence), held))
            else:
                verdict = len(units & set().union(*(units_of[n] for n in cited))) / len(units) >= SUPPORT_SHARE
        out.append(Sentence(a, b, cited, verdict))
    return out


UNSUPPORTED_MARK = "†"


def mark_unsupported(text: str, sentences: list[Sentence]) -> str:
    """text with UNSUPPORTED_MARK after each sentence its cited passage does not hold."""
    for sentence in sorted(sentences, key=lambda s: -s.end):
        if sentence.supported is False:
            text = text[:sentence.end] + UNSUPPORTED_MARK + text[sentence.end:]
    return text


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


def ends_mid_sentence(text: str) -> bool:
    """The last prose character (markers and whitespace aside) does not close a sentence."""
    parts = split_code(text.strip(), inline=False)
    if not parts or parts[-1][1]:
        return False                            # ends with a code block
    tail = MARKER.sub("", parts[-1][0]).rstrip()
    return bool(tail) and tail[-1] not in SENTENCE_CLOSERS


def tidy(text: str) -> tuple[str, list[str]]:
    """The model's text with its habits undone; returns (text, notices for the reader)."""
    notes = []
    text = drop_dangling_labels(text)           # "代码：" with nothing under it, copied from the notes
    spans = prose_spans(text)
    sentences = [text[a:b] for a, b in spans]
    if any(map(is_decline, sentences)) and not all(map(is_decline, sentences)):
        text = _drop(text, [s for s, sentence in zip(spans, sentences) if is_decline(sentence)])
        spans = prose_spans(text)
    text = _drop(text, [(a, b) for a, b in spans if is_rule_echo(text[a:b])])
    text = _reattach_bare_markers(text)
    if ends_mid_sentence(text):
        spans = prose_spans(text)
        closed = [b for a, b in spans if MARKER.sub("", text[a:b]).rstrip()[-1:] in SENTENCE_CLOSERS]
        if closed:
            text = text[:closed[-1]]
            notes.append("The model left its last sentence unfinished; the answer ends at its last whole sentence.")
        else:           # nothing whole to end at: the reader sees where it stopped
            text = text.rstrip() + "…"
            notes.append("The model left its last sentence unfinished.")
    return text.strip(), notes


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
