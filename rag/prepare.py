"""Stage 1: a typed question becomes a Turn: cleaned, bounded in tokens, its language known, and a
follow-up ("那它的代码怎么写？") made standalone with the previous question.

    is_follow_up("那它的代码怎么写？") -> True      is_follow_up("什么是BN") -> False
"""
from __future__ import annotations

import re

from rag import text as textlib
from rag.errors import InputError
from rag.prompt import approx_tokens, trim_to_tokens
from rag.turn import Turn

MAX_QUESTION_TOKENS = 256
# Opening words that point back at the previous question.
OPENER = re.compile(r"^\s*(?:那么?|它们?|其|这个|那个|这种|那种|上面|刚才|还有|另外|同样|"
                    r"and\b|also\b|what about\b|how about\b|then\b|so\b|its?\b|this\b|that\b|they\b|those\b|these\b)",
                    re.I)
PRONOUN = re.compile(r"它们?|其|这个|那个|该方法|\b(?:it|its|this|that|they|them|these|those)\b", re.I)
# Words that ask for more about a topic without naming one.
GENERIC = frozenset(
    "代码 例子 举例 实现 优点 缺点 优缺点 区别 原理 作用 细节 详细 具体 公式 推导 应用 场景 写 解释 说说 讲讲 介绍 展开 "
    "用 用法 为什么 呢 吗 能 再 多 code example examples implementation implement detail details pros cons "
    "advantage advantages disadvantage disadvantages work works used use mean means explain more why".split())


def clean_question(question: str) -> str:
    """Control characters out, whitespace folded; an empty result is an error naming the fix."""
    cleaned = clean_text(question or "")
    if not cleaned:
        raise InputError("The question is empty; type a question, e.g. iqa ask \"ROIAlign vs ROIPool?\".")
    return cleaned


def topic_words(question: str) -> set[str]:
    """The question's own content words: tokens that are not stopwords, pronouns or generic asks."""
    return {t for t in textlib.tokenize(question) if t not in GENERIC and not PRONOUN.fullmatch(t)}


def is_follow_up(question: str) -> bool:
    """Starts by pointing back, or names no topic of its own ("有代码吗", "How does it work?")."""
    if OPENER.match(question):
        return True
    topics = topic_words(question)
    return not topics or (bool(PRONOUN.search(question)) and len(topics) <= 1)


def prepare(question: str, history: list[str] | None = None, count=approx_tokens,
            max_tokens: int = MAX_QUESTION_TOKENS) -> Turn:
    """The Turn for question; count gives the answer model's token count of a text.

    A pasted page is cut to max_tokens (with a notice): the model reads the question with every
    prompt, and the previous question a follow-up is searched with is cut the same way.
    """
    bounded, cut = bound_question(question, max_tokens, count)
    turn = Turn(question=bounded, language=textlib.language(bounded))
    if cut:
        turn.note(f"The question was cut to its first {max_tokens} tokens.")
    previous = [p for p in (history or []) if isinstance(p, str) and clean_text(p[: max_tokens * 8])]
    if previous and is_follow_up(bounded):
        turn.query = f"{bound_question(previous[-1], max_tokens, count)[0]} {bounded}"
    else:
        turn.query = bounded
    return turn


def clean_text(text: str) -> str:
    return re.sub(r"\s+", " ", "".join(ch for ch in text if ch.isprintable() or ch in " \t")).strip()


def bound_question(question: str, max_tokens: int, count=approx_tokens) -> tuple[str, bool]:
    """(question cleaned and within max_tokens by count, whether it was cut)."""
    cleaned = clean_question(question[: max_tokens * 8])     # cheap cap first: no token is longer than 8 chars here
    bounded = trim_to_tokens(cleaned, max_tokens, count).rstrip("…")
    return bounded, bounded != cleaned or len(question) > max_tokens * 8
