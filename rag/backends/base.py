"""What every answer-model backend offers; one file per backend beside this one.

A backend receives a `Request` (the question, the numbered passages and the chat messages built
from them), so a backend that is not a chat model can answer from the passages directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from rag.prompt import approx_tokens
from rag.schema import Passage


@dataclass
class Request:
    question: str
    passages: list[Passage]
    query: str = ""             # what was searched: the question with follow-up context or translation
    messages: list[dict] = field(default_factory=list)
    max_tokens: int = 320
    temperature: float = 0.1
    closeness: dict[str, float] = field(default_factory=dict)  # chunk id -> closeness to the question (rag/quote.py)


class LLMBackend:
    """An answer model. Subclasses set name and n_ctx and implement stream()."""
    name: str = "backend"
    n_ctx: int = 2048
    chat: bool = True           # False: answers from request.passages and ignores the messages
    mode: str = "llm"           # the Answer.mode its answers get

    def stream(self, request: Request) -> Iterator[str]:
        """Yield the answer text piece by piece."""
        raise NotImplementedError

    def complete(self, messages: list[dict], max_tokens: int = 48) -> str:
        """One short deterministic completion (query translation); '' when the backend cannot."""
        return ""

    def count_tokens(self, text: str) -> int:
        """Tokens text costs in this model's context (an estimate unless the backend knows better)."""
        return approx_tokens(text)
