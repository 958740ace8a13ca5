"""What the terminal session and the Practice tab share: questions, grading, feedback, reviews, stats.

    practice = Practice(engine, use_llm=False)
    q = practice.next(topic="detection", n=1)[0]
    result = practice.grade(q.key, "ROIAlign 用双线性插值……")
    practice.record(result)                 # or practice.record(result, rating=2) to override
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from practice import feedback as feedbacklib
from practice.cards import CardStore, SyncReport, now_utc
from practice.grade import Grade, Grader, rating_for
from practice.questions import Question, matches_topic, neighbour, questions
from rag.errors import InputError

DB_NAME = "practice.sqlite"


@dataclass
class Result:
    question: Question
    answer: str
    grade: Grade
    feedback: str
    notice: str = ""        # e.g. why the feedback has no model paragraph


class Practice:
    """One engine's questions as practice cards; thread-safe for the web tab (one grading at a time)."""

    def __init__(self, engine, use_llm: bool = True, cards: CardStore | None = None):
        self.engine, self.use_llm = engine, use_llm
        self.cards = cards or CardStore(engine.settings.home / DB_NAME)
        self.lock = threading.Lock()
        self._loaded: tuple[object, list[Question]] | None = None
        self.synced = SyncReport()

    def questions(self) -> list[Question]:
        """The live index's question sections; cards are synced once per index generation."""
        store = self.engine.refresh().store
        if self._loaded is None or self._loaded[0] is not store:
            items = questions(store.chunks)
            self.synced = self.cards.sync(items)
            self._loaded = (store, items)
        return self._loaded[1]

    def question(self, key: str) -> Question:
        found = next((q for q in self.questions() if q.key == key), None)
        if found is None:
            raise InputError(f"The question {key!r} is no longer in the notes; pick another one.")
        return found

    def next(self, topic: str = "", n: int = 10, now: datetime | None = None) -> list[Question]:
        """Up to n questions under topic: due reviews first, then new ones."""
        if n < 1:
            raise InputError(f"The number of questions must be at least 1, not {n}.")
        items = [q for q in self.questions() if matches_topic(q, topic)]
        if not items:
            raise InputError(f"No question section matches the topic {topic!r}; pass a folder, file or heading "
                             f"prefix that `iqa search` shows, or leave --topic out.")
        by_key = {q.key: q for q in items}
        return [by_key[k] for k in self.cards.pick(list(by_key), n, now)]

    def grade(self, key: str, answer: str, use_llm: bool | None = None) -> Result:
        """Grade an answer against the note and write the feedback (the model's, unless use_llm is off)."""
        question = self.question(key)
        with self.lock:
            grade = Grader(self.engine.embedder()).grade(question, answer or "")
            model, notice = self._model(self.use_llm if use_llm is None else use_llm)
            text = feedbacklib.feedback(question, answer or "", grade, model, neighbour(self.questions(), question))
        return Result(question, answer or "", grade, text, notice)

    def reveal(self, key: str) -> Result:
        """The note's answer shown instead of an answer: graded as nothing known (score 0, again)."""
        question = self.question(key)
        grade = Grade(0, rating_for(0), [])
        return Result(question, "", grade, feedbacklib.follow_up(question, neighbour(self.questions(), question)))

    def record(self, result: Result, rating: int | None = None, when: datetime | None = None) -> datetime:
        """Log the review (the suggested rating, or the candidate's override) and return the next due date."""
        chosen = result.grade.rating if rating is None else rating
        return self.cards.record(result.question.key, result.grade.score, result.grade.rating, chosen, when or now_utc())

    def _model(self, use_llm: bool):
        """(chat model, "") for the feedback paragraph, or (None, why not)."""
        if not use_llm:
            return None, ""
        model, why = self.engine.models.answer_model()
        if model is None or not model.chat:
            return None, f"Feedback without the model: {why or 'the answer backend is not a chat model'}"
        return model, ""
