"""The one value that flows through the answer stages (prepare → retrieve → scope → generate → compose).

Each stage reads what earlier ones left on the Turn and adds its own part, so no stage passes a
bundle of positional values to the next.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from rag.schema import Hit, Markers, Passage


@dataclass
class Turn:
    question: str                   # as asked, cleaned and bounded
    language: str                   # "zh" | "en" (rag.text.language)
    query: str = ""                 # what is searched: made standalone, translation appended
    k: int = 5
    retriever: str = "hybrid"
    notices: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    closeness: dict[str, float] = field(default_factory=dict)  # top sections' chunk id -> closeness to the question
    mode: str = "llm"               # "llm" | "extractive" | "out_of_scope"
    model: str = ""
    prompt: str = ""                # the passages as the model was shown them
    raw: str = ""                   # the model's text before citations are checked
    markers: Markers = field(default_factory=Markers)
    repairs: list[str] = field(default_factory=list)   # the repairs that changed the model's text (rag/repairs.py)
    timings: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def note(self, message: str) -> None:
        if message and message not in self.notices:
            self.notices.append(message)

    def clock(self, name: str) -> None:
        """Record the milliseconds since the turn started as timings[name]."""
        self.timings[name] = round((time.perf_counter() - self.started) * 1000, 1)
