"""Plain records that travel between ingest, retrieval, answering and the UIs."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CodeSnippet:
    """A code region inside a chunk, located in its raw source file."""
    language: str
    code: str
    start: int          # character offsets into the raw file
    end: int
    line_start: int     # 1-based line numbers in the raw file
    line_end: int


@dataclass
class Chunk:
    """One retrievable passage: a question's answer, or a clean part of it."""
    id: str
    source: str         # path relative to the ingested root
    start: int          # character offsets into the raw file
    end: int
    line_start: int
    line_end: int
    heading: list[str]  # heading path: [section, ..., question]
    question: str
    text: str
    code: list[CodeSnippet] = field(default_factory=list)

    @property
    def title(self) -> str:
        return " › ".join(self.heading) if self.heading else self.source

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line_start}-{self.line_end}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Chunk":
        d = dict(d)
        d["code"] = [CodeSnippet(**c) for c in d.get("code", [])]
        return cls(**d)


@dataclass
class Hit:
    """A chunk returned for a query, with its fused score and rank (1-based)."""
    chunk: Chunk
    score: float
    rank: int = 0
    also_in: list[str] = field(default_factory=list)   # near-duplicate copies: their locations

    def to_dict(self) -> dict:
        c = self.chunk
        return {"rank": self.rank, "score": round(float(self.score), 6), "source": c.source,
                "start": c.start, "end": c.end, "heading": c.title, "text": c.text,
                "also_in": self.also_in}


@dataclass
class Citation:
    n: int
    chunk: Chunk

    def to_dict(self) -> dict:
        c = self.chunk
        return {"n": self.n, "source": c.source, "start": c.start, "end": c.end,
                "line_start": c.line_start, "line_end": c.line_end,
                "heading": c.title, "text": c.text}


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    code: list[CodeSnippet]
    code_sources: list[str]
    hits: list[Hit]
    model: str
    mode: str                       # "llm" | "extractive" | "out_of_scope"
    timings: dict
    markers_valid: int = 0
    markers_invalid: int = 0
    markers_attributed: int = 0     # markers added by term overlap where the model left a sentence uncited
    notice: str = ""

    @property
    def unsupported(self) -> bool:
        return self.mode != "out_of_scope" and not self.citations

    def to_dict(self) -> dict:
        code = [{"source": src, "start": s.start, "end": s.end, "line_start": s.line_start,
                 "line_end": s.line_end, "language": s.language, "code": s.code}
                for s, src in zip(self.code, self.code_sources)]
        return {"question": self.question, "answer": self.text,
                "citations": [c.to_dict() for c in self.citations], "code": code,
                "model": self.model, "mode": self.mode, "unsupported": self.unsupported,
                "markers": {"valid": self.markers_valid, "invalid": self.markers_invalid,
                            "attributed": self.markers_attributed},
                "notice": self.notice, "timings": self.timings}
