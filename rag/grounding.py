"""Sentence by sentence: what an answer says and whether the passage it cites holds it (rag/repairs.py
uses the verdicts to re-cite or leave out sentences; this module only judges).

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
from rag.prompt import MARKER, claims_nothing, parse_markers, split_code, unmarked

SUPPORT_SHARE = 0.6
MIN_UNITS = 2               # "好的。" says nothing to check
DECLINE_PHRASES = ("笔记中没有相关内容", "笔记中没有找到", "没有相关内容", "The notes do not cover")
SENTENCE_CLOSERS = "。！？!?.…）)」』”\"'`*"        # not ；: a clause ends there, the sentence goes on



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
            for a, b in whole_sentences(part):
                s = part[a:b]
                lead, body = len(s) - len(s.lstrip()), s.strip()
                if body:
                    spans.append((offset + a + lead, offset + a + lead + len(body)))
        offset += len(part)
    return spans


def whole_sentences(text: str) -> list[tuple[int, int]]:
    """split_sentences, a clause closed by a semicolon joined to the sentence it opens."""
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


def ends_mid_sentence(text: str) -> bool:
    """The last prose character (markers and whitespace aside) does not close a sentence."""
    parts = split_code(text.strip(), inline=False)
    if not parts or parts[-1][1]:
        return False                            # ends with a code block
    tail = MARKER.sub("", parts[-1][0]).rstrip()
    return bool(tail) and tail[-1] not in SENTENCE_CLOSERS
