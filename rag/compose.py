"""Stage 5: the model's text becomes an Answer: citations checked against the passages shown,
uncited sentences attributed where one passage clearly holds them, code snippets listed.
"""
from __future__ import annotations

import re
import time

import numpy as np

from rag import prompt as promptlib
from rag import text as textlib
from rag.grounding import support
from rag.repairs import RECITALS, REPAIRS, Context, invalid_marker, run, uncited_sentence
from rag.schema import Answer, Citation, CodeRef, Markers
from rag.turn import Turn

CODE_WORDS = re.compile(r"代码|实现|手写|手撕|写一下|怎么写|code|implement|snippet|pytorch|python", re.I)
CODE_FROM_TOP = 3
# An English sentence over Chinese passages is held by the passage it is closer to than to any neutral
# background sentence. Cross-script cosines are low and jittery (a trailing " ." moved one by 0.025),
# so any margin above the background counts here; unrelated sentences sit at -0.04 to -0.12.
CROSS_SCRIPT_MARGIN = 0.0           # a question asking for code also gets the code of the best few hits
NOT_COVERED = {"zh": "笔记中没有找到与这个问题相关的内容。", "en": "The notes do not cover this question."}


def cross_language_chooser(turn: Turn, scope, embed, chinese_corpus: bool):
    """Words first; a sentence in another script than its notes is matched by the multilingual vectors."""
    lexical = promptlib.lexical_chooser(turn.passages)
    bodies = [p.body for p in turn.passages]

    def choose(sentence: str) -> int | None:
        n = lexical(sentence)
        if n or textlib.has_cjk(sentence) or not chinese_corpus or not bodies:
            return n
        margins = scope.text_margins(bodies, embed(sentence))
        best = int(np.argmax(margins))
        return turn.passages[best].n if margins[best] >= CROSS_SCRIPT_MARGIN else None
    return choose


def margin_judge(turn: Turn, scope, embed):
    """judge(sentence, passage texts) for grounding, on the text the model was shown of each passage."""
    body_of = {p.hit.chunk.text: p.body for p in turn.passages}
    return text_judge(scope, embed, lambda text: body_of.get(text, text))


def text_judge(scope, embed, shown=lambda text: text):
    """judge(sentence, passage texts): the multilingual vectors across scripts, a passage holding the
    sentence when it is closer to it than any background sentence (shown(text) is what is compared)."""
    def judge(sentence: str, passages: list[str]) -> bool:
        texts = [shown(p) for p in passages]
        return bool(texts) and float(np.max(scope.text_margins(texts, embed(sentence)))) >= CROSS_SCRIPT_MARGIN
    return judge


def repair_context(turn: Turn, choose=lambda sentence: None) -> Context:
    return Context(turn.question, [promptlib.passage_header(p.hit.chunk) for p in turn.passages],
                   {p.n: p.hit.chunk.text for p in turn.passages}, choose)


def said_something(turn: Turn) -> bool:
    """The model's text holds more than recitals (the question, the prompt, a heading)."""
    return bool(run(turn.raw, repair_context(turn), RECITALS)[0].strip())


def cite_check(turn: Turn, choose) -> str:
    """The answer's text from the model's (rag/repairs.py); turn.markers counts the citation markers,
    turn.repairs names the repairs that changed something."""
    ctx = repair_context(turn, choose)
    if turn.mode != "llm":
        written, fired = turn.raw, []
        text, more = run(written, ctx, [invalid_marker])
    else:
        at = REPAIRS.index(uncited_sentence)
        written, fired = run(turn.raw, ctx, REPAIRS[:at])
        text, more = run(written, ctx, REPAIRS[at:])
    markers = promptlib.parse_markers(written)
    valid = len([n for n in markers if 1 <= n <= len(turn.passages)])
    turn.markers = Markers(valid=valid, invalid=len(markers) - valid,
                           attributed=max(0, len(promptlib.parse_markers(text)) - valid))
    turn.repairs = fired + more
    for notice in ctx.notices:
        turn.note(notice)
    return text


def code_refs(turn: Turn, cited: list[Citation]) -> list[CodeRef]:
    """Code of the cited chunks; a question that asks for code also gets the top hits' code."""
    chunks = [c.chunk for c in cited]
    if turn.mode != "out_of_scope" and CODE_WORDS.search(turn.question):
        chunks += [h.chunk for h in turn.hits[:CODE_FROM_TOP] if h.chunk not in chunks]
    return [CodeRef(chunk.source, snippet) for chunk in chunks for snippet in chunk.code]


def compose(turn: Turn, text: str, judge=None) -> Answer:
    """The Answer for a turn whose final text is known; judge decides cross-script support."""
    _, used, _ = promptlib.check_citations(text, len(turn.passages))
    cited = [Citation(n, turn.passages[n - 1].hit.chunk) for n in used]
    sentences = support(text, {p.n: p.hit.chunk.text for p in turn.passages}, judge) if turn.mode == "llm" else []
    shown = [p.hit for p in turn.passages] or turn.hits
    turn.timings["total_ms"] = round((time.perf_counter() - turn.started) * 1000, 1)
    turn.timings.setdefault("first_token_ms", turn.timings["total_ms"])
    turn.timings.setdefault("tokens_per_s", 0.0)
    turn.timings.setdefault("prompt_tokens", 0)
    answer = Answer(turn.question, text, cited, code_refs(turn, cited), shown, turn.model, turn.mode, turn.timings,
                    turn.markers, " ".join(turn.notices), turn.query)
    answer.sentences, answer.prompt, answer.retrieved = sentences, turn.prompt, list(turn.hits)
    answer.repairs = list(turn.repairs)
    return answer


def declined(turn: Turn) -> str:
    turn.mode, turn.model = "out_of_scope", "extractive"
    return NOT_COVERED[turn.language]
