"""Grading a candidate's answer against the note: which key points it covers, a score and a rating.

Key points are the note answer's sentences and list items (code blocks aside; a code-only answer
has its code blocks as points). A point is covered when the answer holds a quarter of the point's
content words (jieba tokens from rag.text; the question's words and the note's subject words, those
in most of its points, do not count) and one of the answer's sentences is close to it for the
multilingual embedder (cosine of e5 vectors). Terms alone would pass an answer naming the right
things in another claim; vectors alone pass any on-topic sentence. The score weights each point by
its counted words, so a long point matters more than a short aside.

    g = Grader(embedder).grade(question, "ROIAlign 用双线性插值，不取整。")
    g.score -> 50; g.rating -> 2 (hard); [p.point.citation for p in g.missed] -> ["detection.md:8"]
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from practice.questions import Question
from rag import text as textlib
from rag.prompt import split_code

# Calibrated with e5-small on the examples in tests/test_practice_grade.py (Chinese notes, English terms)
# and checked on tests/test_practice_corpus.py. e5 puts almost any two same-domain sentences above 0.85:
# a restatement of a point scored cosine 0.914-0.974, an on-topic sentence making another claim
# 0.875-0.913, one reusing the point's words in another sense (训练小狗…概率) 0.897-0.908, an unrelated
# one 0.818-0.869. Words separate restatements from other claims: a restatement shared 0.25-0.64 of the
# point's content tokens, another claim 0.07-0.18 (once the question's words and the note's subject
# words are set aside), an unrelated sentence 0-0.07; the cosine floor of 0.91 drops the sentences that
# reuse the words (0.36-0.56 of them) in another sense. Restatements that swap most Chinese words for
# English ones share only 0.09-0.18 and are missed: the grade errs on the strict side.
TERM_MIN = 0.25
COSINE_MIN = 0.91
RATINGS = ((90, 4), (65, 3), (35, 2), (0, 1))      # score floor -> FSRS rating
RATING_NAMES = {1: "again", 2: "hard", 3: "good", 4: "easy"}
LIST_MARK = re.compile(r"^\s*(?:[-*+•·]|\d{1,2}\s*[.)、）]|[（(]\d{1,2}[)）])\s*")
HEADING_LINE = re.compile(r"^\s*#{1,6}\s")
EMPHASIS = re.compile(r"\*\*|__|`+")
MIN_POINT_TOKENS = 2
MAX_ANSWER_CHARS = 8000


@dataclass
class KeyPoint:
    text: str
    source: str
    line: int

    @property
    def citation(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class PointResult:
    point: KeyPoint
    terms: float        # share of the point's content tokens the answer holds
    cosine: float       # best cosine between the point and a sentence of the answer
    covered: bool


@dataclass
class Grade:
    score: int                  # 0-100: the covered share of the key points, weighted by their content tokens
    rating: int                 # 1-4 again / hard / good / easy, from the score
    points: list[PointResult]

    @property
    def covered(self) -> list[PointResult]:
        return [p for p in self.points if p.covered]

    @property
    def missed(self) -> list[PointResult]:
        return [p for p in self.points if not p.covered]

    @property
    def rating_name(self) -> str:
        return RATING_NAMES[self.rating]


def rating_for(score: float) -> int:
    """rating_for(95) -> 4 (easy); rating_for(10) -> 1 (again)."""
    return next(rating for floor, rating in RATINGS if score >= floor)


def _covered(terms: float, cosine: float) -> bool:
    return bool(terms >= TERM_MIN and cosine >= COSINE_MIN)


def _prose(text: str) -> str:
    """text with fenced code blanked out (offsets kept)."""
    return "".join(" " * len(part) if is_code else part for part, is_code in split_code(text, inline=False))


def _clean_point(sentence: str) -> str:
    """A sentence without its list marker and markdown emphasis; "" for a heading line."""
    if HEADING_LINE.match(sentence):
        return ""
    return LIST_MARK.sub("", EMPHASIS.sub("", sentence)).strip()


def key_points(question: Question) -> list[KeyPoint]:
    """The note answer's sentences and list items with the raw line each starts on."""
    points = []
    for part in question.parts:
        prose = _prose(part.text)
        for start, end in textlib.split_sentences(prose):
            raw = prose[start:end]
            point = _clean_point(raw)
            if len(textlib.tokenize(point)) >= MIN_POINT_TOKENS:
                offset = start + len(raw) - len(raw.lstrip())
                points.append(KeyPoint(point, question.source, part.line_at(offset)))
    if points:
        return points
    return [KeyPoint(code.code.strip(), question.source, code.line_start)
            for code in question.code if len(textlib.tokenize(code.code)) >= MIN_POINT_TOKENS]


def topic_words(points: list[KeyPoint]) -> set[str]:
    """Tokens in more than half of three or more points: the answer's subject, no evidence of any one point."""
    if len(points) < 3:
        return set()
    counts: dict[str, int] = {}
    for point in points:
        for token in set(textlib.tokenize(point.text)):
            counts[token] = counts.get(token, 0) + 1
    return {token for token, n in counts.items() if n > len(points) / 2}


def answer_sentences(answer: str) -> list[str]:
    """The candidate's sentences (list markers dropped), and the whole answer as one more."""
    answer = answer[:MAX_ANSWER_CHARS]
    sentences = [s for a, b in textlib.split_sentences(answer) if (s := _clean_point(answer[a:b]))]
    return sentences + ([answer.strip()] if len(sentences) > 1 else [])


class Grader:
    """Grades answers with one embedder (rag.embed.Embedder, or anything with embed_queries)."""

    def __init__(self, embedder):
        self.embedder = embedder

    def grade(self, question: Question, answer: str) -> Grade:
        points = key_points(question)
        sentences = answer_sentences(answer or "")
        if not points:
            return Grade(0, 1, [])
        if not sentences:
            return Grade(0, 1, [PointResult(p, 0.0, 0.0, False) for p in points])
        ignored = set(textlib.tokenize(question.question)) | topic_words(points)
        said = set(textlib.tokenize(answer))
        # e5 is trained with "query: " on both sides for symmetric similarity: points and answer alike.
        vectors = self.embedder.embed_queries([p.text for p in points] + sentences)
        best = (vectors[:len(points)] @ vectors[len(points):].T).max(axis=1)
        results, weights = [], []
        for point, cosine in zip(points, best):
            wanted = set(textlib.tokenize(point.text))
            wanted = (wanted - ignored) or wanted
            terms = len(wanted & said) / len(wanted)
            results.append(PointResult(point, round(terms, 3), round(float(cosine), 3),
                                       _covered(terms, cosine)))
            weights.append(len(wanted))
        weights = np.asarray(weights, dtype=float)
        score = int(round(100 * weights[[r.covered for r in results]].sum() / weights.sum()))
        return Grade(score, rating_for(score), results)
