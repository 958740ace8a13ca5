"""Plain records that travel between ingest, retrieval, answering and the UIs."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


def _place(x) -> dict:
    """Where a chunk or snippet lies in its raw file: character offsets and 1-based lines."""
    return {"start": x.start, "end": x.end, "line_start": x.line_start, "line_end": x.line_end}


@dataclass
class CodeSnippet:
    """A code region inside a chunk, located in its raw source file."""
    language: str
    code: str
    start: int          # character offsets into the raw file
    end: int
    line_start: int     # 1-based line numbers in the raw file
    line_end: int
    place: str = ""     # in a PDF, Word or notebook file: "page 3, lines 2-9", "paragraph 12", "cell 7"


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
    place: str = ""     # PDF, Word, notebook: the page, paragraph or cell (lines count in the text read from it)
    meta: dict = field(default_factory=dict)    # the note's front matter (title, tags): kept, not indexed

    @property
    def title(self) -> str:
        return " › ".join(self.heading) if self.heading else self.source

    @property
    def location(self) -> str:
        """Where a reader opens the file: "notes.md:12-20", "book.pdf, page 3, lines 2-9", "nb.ipynb, cell 7"."""
        return f"{self.source}, {self.place}" if self.place else f"{self.source}:{self.line_start}-{self.line_end}"

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
                "start": c.start, "end": c.end, "location": c.location, "heading": c.title,
                "path": list(c.heading), "text": c.text, "also_in": self.also_in}


@dataclass
class Citation:
    n: int
    chunk: Chunk

    def to_dict(self) -> dict:
        c = self.chunk
        return {"n": self.n, "source": c.source, **_place(c), "heading": c.title, "text": c.text}


@dataclass
class Passage:
    """A hit as the model is shown it: its number in the prompt and the text it sees."""
    n: int
    hit: Hit
    body: str


@dataclass
class CodeRef:
    """A code snippet listed beside an answer, with the file it comes from."""
    source: str
    snippet: CodeSnippet

    @property
    def location(self) -> str:
        """"roi.md:12-20", or "book.pdf, page 3, lines 2-9" / "nb.ipynb, cells 4-5" where the file has places."""
        s = self.snippet
        return f"{self.source}, {s.place}" if s.place else f"{self.source}:{s.line_start}-{s.line_end}"

    def to_dict(self) -> dict:
        s = self.snippet
        return {"source": self.source, **_place(s), "location": self.location, "language": s.language, "code": s.code}


@dataclass
class Markers:
    """Citation markers: written by the model and valid, removed as invalid, added by attribution."""
    valid: int = 0
    invalid: int = 0
    attributed: int = 0


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    code: list[CodeRef]
    hits: list[Hit]                 # the passages the answer was composed from, ranked
    model: str
    mode: str                       # "llm" | "extractive" | "out_of_scope"
    timings: dict
    markers: Markers = field(default_factory=Markers)
    notice: str = ""
    searched_as: str = ""           # the query actually searched (follow-up context, translation)
    sentences: list = field(default_factory=list)   # rag.grounding.Sentence: spans, citations, supported?
    prompt: str = ""                # the passages as the model was shown them (empty for extractive answers)
    retrieved: list[Hit] = field(default_factory=list)  # every retrieved passage, before the prompt's budget
    repairs: list[str] = field(default_factory=list)    # the repairs that changed the model's text

    @property
    def unsupported(self) -> bool:
        return self.mode != "out_of_scope" and not self.citations

    def to_dict(self) -> dict:
        from rag.render import source_rows
        return {"question": self.question, "answer": self.text, "searched_as": self.searched_as,
                "citations": [c.to_dict() for c in self.citations], "code": [c.to_dict() for c in self.code],
                "sources": [row.to_dict() for row in source_rows(self)],
                "hits": [h.to_dict() for h in self.hits],
                "model": self.model, "mode": self.mode, "unsupported": self.unsupported,
                "markers": asdict(self.markers), "notice": self.notice, "timings": self.timings,
                "sentences": [s.to_dict() for s in self.sentences], "repairs": self.repairs}
