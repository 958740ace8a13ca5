"""Stage 4: the model writes the answer from the numbered passages, streamed piece by piece.

The passages are fitted to the model's context in its own tokens. Generation stops where what follows
would be left out of the answer: its direct answer written (the notes' lines follow it; three
sentences at most, which also bounds a loop) or code of its own begun.
"""
from __future__ import annotations

import re
import time
from typing import Iterator

from rag import prompt as promptlib
from rag import text as textlib
from rag.backends.base import LLMBackend, Request
from rag.schema import Passage
from rag.turn import Turn

SENTENCE_END = re.compile(r"[。.!！?？\n]")
PROMPT_MARGIN_TOKENS = 64       # chat-template tokens around the messages


def passage_budget(turn: Turn, model: LLMBackend, settings) -> int:
    """Tokens left for passages: the configured budget, never more than the context can hold."""
    fixed = model.count_tokens(promptlib.template("system") + promptlib.template("user") + turn.question)
    room = model.n_ctx - settings.max_tokens - fixed - PROMPT_MARGIN_TOKENS
    return max(0, min(settings.context_tokens, room))


def build_request(turn: Turn, model: LLMBackend, settings) -> Request:
    if model.chat:
        budget = passage_budget(turn, model, settings)
        turn.passages = promptlib.select_passages(turn.hits, budget, model.count_tokens, turn.query)
    else:       # nothing is prompted: the backend reads the passages (whole sections) as they are
        turn.passages = [Passage(n, hit, hit.chunk.text) for n, hit in enumerate(promptlib.merge_sections(turn.hits), 1)]
    messages = promptlib.build_messages(turn.question, turn.passages) if model.chat else []
    if messages:
        turn.prompt = messages[-1]["content"]
        turn.timings["prompt_tokens"] = sum(model.count_tokens(m["content"]) for m in messages) + PROMPT_MARGIN_TOKENS // 4
    return Request(turn.question, turn.passages, turn.query, messages, settings.max_tokens, settings.temperature,
                   turn.closeness)


def generate(turn: Turn, model: LLMBackend, settings) -> Iterator[str]:
    """Yield the model's pieces as they come; leaves the finished text in turn.raw."""
    request = build_request(turn, model, settings)
    turn.mode, turn.model = model.mode, model.name        # the checks on the stream depend on the mode
    pieces, first = [], None
    for piece in model.stream(request):
        first = first or time.perf_counter()
        pieces.append(piece)
        yield piece
        if SENTENCE_END.search(piece) or "`" in piece or "~" in piece:
            so_far = "".join(pieces)
            if lead_written(so_far):
                break
    end = time.perf_counter()
    turn.raw = "".join(pieces)          # rag/repairs.py makes the answer's text of it
    turn.timings["first_token_ms"] = round(((first or end) - turn.started) * 1000, 1)
    span = end - (first or end)
    turn.timings["tokens_per_s"] = round(len(pieces) / span, 1) if len(pieces) > 1 and span > 0 else 0.0
    turn.model = model.name             # again: a server backend learns its model's name on the first request


LEAD_SENTENCES = 3          # the model's direct answer; the notes' own words follow it (rag/quote.py)
FENCE_OPEN = re.compile(r"(?:^|\n)[ \t]*(?:`{3,}|~{3,})")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def lead_only(text: str) -> str:
    """The model's direct answer: its text up to the first code fence, and its first paragraph that
    says something (a label or heading alone is not yet the answer).

        lead_only("ROIAlign 不取整 [1]。\n\n**代码**：\n```py\nx\n```") -> "ROIAlign 不取整 [1]。"
    """
    fence = FENCE_OPEN.search(text)
    text = text[:fence.start()] if fence else text
    for m in PARAGRAPH_BREAK.finditer(text):
        if _claims(text[:m.start()]):
            return text[:m.start()]
    return text


def lead_written(text: str) -> bool:
    """Generation can stop: the model opened code (it would be left out), began a second paragraph
    after its answer, or has written LEAD_SENTENCES sentences that claim something."""
    if FENCE_OPEN.search(text) or len(lead_only(text)) < len(text.rstrip()):
        return True
    return _claims(text, LEAD_SENTENCES, finished=True)


def _claims(text: str, at_least: int = 1, finished: bool = False) -> bool:
    """text holds at least that many sentences that claim something (labels and headings do not)."""
    spans = textlib.split_sentences(text)
    if finished and spans and not re.search(r"[。.!！?？]\s*(?:\[\d{1,2}\])?\s*$", text[slice(*spans[-1])]):
        spans = spans[:-1]                          # the sentence still being written
    sentences = [text[a:b] for a, b in spans]
    return sum(1 for x in sentences if len(x.strip()) >= 6 and not promptlib.claims_nothing(x)) >= at_least


