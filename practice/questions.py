"""The question sections of an index: one Question per section, its chunks joined back together.

A chunk id hashes the chunk's text, so it changes whenever the note is edited. A Question's key is
what stays: sha1(source, heading path, occurrence), the occurrence telling apart two sections with
the same heading path in one file. Editing an answer keeps the key (the card keeps its history);
renaming a heading or moving the file makes a new key, and matching by the answer's
fingerprint (practice/cards.py) carries the old card over when the answer itself did not change.

    qs = questions(store.chunks)
    qs[0].key -> "3f9a0c1d2b4e5f60"; qs[0].question -> "1.ROIPool和ROIAlign有什么区别？"
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from rag import text as textlib
from rag.schema import Chunk, CodeSnippet


@dataclass
class Part:
    """One chunk's text inside a section answer, with the raw-file lines it spans."""
    text: str
    line_start: int
    line_end: int

    def line_at(self, offset: int) -> int:
        """The raw line of a character offset in text (newlines counted, kept inside the chunk's lines)."""
        return min(self.line_end, self.line_start + self.text.count("\n", 0, max(0, offset)))


@dataclass
class Question:
    key: str
    source: str
    heading: list[str]
    question: str
    parts: list[Part]
    code: list[CodeSnippet] = field(default_factory=list)

    @property
    def answer(self) -> str:
        return "\n\n".join(p.text for p in self.parts)

    @property
    def title(self) -> str:
        return " › ".join(self.heading)

    @property
    def line_start(self) -> int:
        return self.parts[0].line_start

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line_start}-{self.parts[-1].line_end}"

    @property
    def fingerprint(self) -> str:
        """Names the answer's content: equal for a section whose heading was renamed but whose body was not."""
        return hashlib.sha1(textlib.squash(self.answer).encode("utf-8")).hexdigest()[:16]

    @property
    def topic(self) -> str:
        """The folder the note lies in, or the file name for a note at the root: "cv/detection.md" -> "cv"."""
        parent = str(PurePosixPath(self.source).parent)
        return self.source if parent == "." else parent


def section_key(source: str, heading: list[str], occurrence: int) -> str:
    payload = "\0".join([source, *heading, str(occurrence)])
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def questions(chunks: list[Chunk]) -> list[Question]:
    """Consecutive chunks of one section become one Question; sections without a question line are skipped."""
    out: list[Question] = []
    seen: dict[tuple, int] = {}
    previous = None
    for chunk in chunks:
        where = (chunk.source, tuple(chunk.heading))
        if not chunk.question.strip():
            previous = None
            continue
        if where == previous:
            out[-1].parts.append(Part(chunk.text, chunk.line_start, chunk.line_end))
            out[-1].code.extend(chunk.code)
            continue
        seen[where] = seen.get(where, 0) + 1
        key = section_key(chunk.source, list(chunk.heading), seen[where])
        out.append(Question(key, chunk.source, list(chunk.heading), chunk.question.strip(),
                            [Part(chunk.text, chunk.line_start, chunk.line_end)], list(chunk.code)))
        previous = where
    return out


def matches_topic(question: Question, topic: str) -> bool:
    """True when topic is a prefix of the source path, of a heading or of the heading path ("" matches all)."""
    want = textlib.normalise(topic or "")
    if not want:
        return True
    names = [question.source, question.title, *question.heading]
    return any(textlib.normalise(name).startswith(want) for name in names)


def neighbour(items: list[Question], question: Question) -> Question | None:
    """The next question section of the same file (else the previous one): a likely follow-up."""
    same = [q for q in items if q.source == question.source]
    at = next((i for i, q in enumerate(same) if q.key == question.key), None)
    if at is None or len(same) < 2:
        return None
    return same[at + 1] if at + 1 < len(same) else same[at - 1]
