"""Answer quality: is an answer cited right, supported by what it cites, whole and clean?

Every measure is a pure function of the answer text, its citations and the labelled question, so a
crafted answer in a unit test scores exactly as a real one does. Sentence support is rag.grounding's
rule (the same one the answer marks its unsupported sentences with).

    supported("ROIAlign 用双线性插值 [1]。", {1: "ROIAlign 用双线性插值计算采样点。"}) -> [True]
"""
from __future__ import annotations

import re

from rag import text as textlib
from rag.grounding import ends_mid_sentence, is_bare, is_decline, prose_spans, support
from rag.prompt import prose
from rag.quote import own_words


def supported(text: str, passages: dict[int, str], judge=None) -> list[bool]:
    """One verdict per sentence long enough to judge: does a passage it cites hold it?"""
    return [s.supported for s in support(text, passages, judge) if s.supported is not None]


def defects(answer_text: str, question: str, mode: str) -> dict[str, bool]:
    """Each defect counted by the answer evaluation, detected on the final answer text."""
    sentences = [answer_text[a:b] for a, b in prose_spans(answer_text)]
    keys = [k for k in (re.sub(r"\s+|\[\d+\]", "", s) for s in sentences) if len(k) >= 6]
    answered = mode == "llm"
    return {
        "decline_appended": answered and any(map(is_decline, sentences)) and not all(map(is_decline, sentences)),
        "cut_mid_sentence": answered and ends_mid_sentence(answer_text),
        "repeated_sentence": len(keys) != len(set(keys)),
        "bare_marker": any(map(is_bare, sentences)),
        # the model's own words: the notes' lines quoted under them keep the notes' language
        "wrong_language": answered and bool(sentences) and answer_language(own_words(answer_text)) != textlib.language(question),
        "declined_covered": mode == "out_of_scope",
    }


VISIBLE = ("decline_appended", "cut_mid_sentence", "bare_marker")


def visible_defect(found: dict[str, bool]) -> bool:
    """A defect a reader sees in the text (a decline sentence inside an answer, a cut last sentence, a
    bare marker line): such an answer is not right, whatever it holds."""
    return any(found.get(d) for d in VISIBLE)


def answer_language(text: str) -> str:
    """"zh" when at least a fifth of the prose letters are CJK (Chinese answers keep English terms)."""
    return "zh" if textlib.cjk_share(prose(text)) >= 0.2 else "en"
