"""Load and check a labelled question file (format: ../shared/eval/README.md).

    {"id": "d042", "question": "ROIAlign vs ROIPool?", "source": "seeds/004.txt", "anchors": ["..."]}

A passage is relevant when, after NFKC normalisation and whitespace removal, it contains an anchor.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.keypoints import KeyPoints, parse as parse_keypoints
from rag.errors import InputError
from rag.text import squash


@dataclass
class Question:
    id: str
    question: str
    source: str
    anchors: list[str]
    kind: str = ""
    line: int = 0
    keypoints: KeyPoints = field(default_factory=KeyPoints)    # optional: what a right answer states

    @property
    def squashed_anchors(self) -> list[str]:
        return [squash(a) for a in self.anchors if squash(a)]

    def is_relevant(self, passage: str) -> bool:
        text = squash(passage)
        return any(a in text for a in self.squashed_anchors)


def load_questions(path: Path) -> list[Question]:
    """Parse the file; every bad line is reported with its number in one error."""
    questions, problems = _json_lines(path, QUESTION_FILE, _parse)
    seen = set()
    for q in questions:
        if q.id in seen:
            problems.append((q.line, f"line {q.line}: duplicate id {q.id!r}"))
        seen.add(q.id)
    _refuse(path, problems)
    if not questions:
        raise InputError(f"{path} holds no questions.")
    return questions


def load_keypoints(path: Path) -> dict[str, KeyPoints]:
    """{question id: KeyPoints} from a JSON-lines file (dev_keypoints.jsonl's format); every bad line named in one error."""
    points, problems = _json_lines(path, KEYPOINT_FILE, _keypoints_line)
    _refuse(path, problems)
    return dict(points)


QUESTION_FILE = ("Question file", "a .jsonl file of labelled questions")
KEYPOINT_FILE = ("Key-point file", "a .jsonl file of key points like dev_keypoints.jsonl")


def _json_lines(path: Path, kind: tuple[str, str], parse) -> tuple[list, list[tuple[int, str]]]:
    """(parse(object, line number) of every good non-empty line, [(line, problem)] for the lines that
    are not JSON or that parse refuses with ValueError or TypeError)."""
    items, problems = [], []
    for n, line in enumerate(_read_text(path, kind).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse(json.loads(line), n))
        except json.JSONDecodeError as e:
            problems.append((n, f"line {n}: not JSON ({e.msg} at column {e.colno})"))
        except (ValueError, TypeError) as e:
            problems.append((n, f"line {n}: {e}"))
    return items, problems


def _refuse(path: Path, problems: list[tuple[int, str]]) -> None:
    """One InputError naming the bad lines in file order (the first ten), if there are any."""
    if problems:
        named = [text for _, text in sorted(problems)]
        raise InputError(f"{path} has {len(named)} bad line(s): " + "; ".join(named[:10]) + ".")


def _read_text(path: Path, kind: tuple[str, str] = QUESTION_FILE) -> str:
    """The file as UTF-8 text (a BOM is fine), or one sentence saying why it is not."""
    what, wanted = kind
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; pass {wanted}.")
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist; pass {wanted}.")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{what} {path} cannot be read ({e.strerror or e}).") from e
    if b"\x00" in data[:8192]:
        raise InputError(f"{what} {path} is binary, not JSON lines; pass {wanted}.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(f"{what} {path} is not UTF-8 text (line {line}); save it as UTF-8 JSON lines.") from e


def _keypoints_line(obj, line: int) -> tuple[str, KeyPoints]:
    if not isinstance(obj, dict) or "id" not in obj:
        raise ValueError("not a JSON object with an id")
    return str(obj["id"]), parse_keypoints(obj)


def _parse(obj, line: int) -> Question:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in ("id", "question", "anchors") if k not in obj]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    anchors = obj["anchors"]
    if not isinstance(anchors, list) or not anchors or not all(isinstance(a, str) and a.strip() for a in anchors):
        raise ValueError("anchors must be a non-empty list of non-empty strings")
    if not str(obj["question"]).strip():
        raise ValueError("empty question")
    return Question(str(obj["id"]), str(obj["question"]), str(obj.get("source", "")), anchors,
                    str(obj.get("kind", "")), line, parse_keypoints(obj))


def with_keypoints(questions: list[Question], keypoints: dict[str, KeyPoints]) -> list[Question]:
    """The questions with key points from a separate file (by id); a question's own points stay."""
    for q in questions:
        if not q.keypoints and q.id in keypoints:
            q.keypoints = keypoints[q.id]
    return questions


def unanchored(questions: list[Question], passages: list[str]) -> list[Question]:
    """Questions none of whose anchors occurs in any indexed passage (they can only miss)."""
    corpus = "\n".join(squash(p) for p in passages)
    return [q for q in questions if not any(a in corpus for a in q.squashed_anchors)]
