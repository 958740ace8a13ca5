"""The terminal loop of `iqa practice`: ask, read a multi-line answer, grade, rate, schedule.

An answer ends with an empty line or Ctrl-D. Typed alone on the first line of an answer:
    :skip     next question, nothing recorded
    :reveal   show the note's answer; recorded as not known (score 0, again) unless re-rated
    :quit     end the session (Ctrl-D on an empty answer too)
After the grade, Enter keeps the suggested rating; 1-4 or again/hard/good/easy overrides it.
Everything from the notes and the model is printed with control codes removed (rag.render.terminal).
"""
from __future__ import annotations

import sys
from datetime import datetime

from practice.cards import now_utc
from practice.grade import RATING_NAMES
from practice.service import Practice, Result
from rag import render

HELP = ("Answer in as many lines as you like; finish with an empty line or Ctrl-D. "
        "Alone on the first line: :skip, :reveal (show the note's answer), :quit.")
COMMANDS = (":skip", ":reveal", ":quit")
RATING_WORDS = {name: n for n, name in RATING_NAMES.items()}


class Console:
    """Reads answers and ratings from a text stream, writes terminal-safe text."""

    def __init__(self, stdin=None, stdout=None):
        self.stdin, self.stdout = stdin or sys.stdin, stdout or sys.stdout

    def say(self, text: str = "") -> None:
        print(render.terminal(text), file=self.stdout, flush=True)

    def read_answer(self) -> str | None:
        """The answer's lines up to an empty line; a command word; None at end of input with nothing typed."""
        lines = []
        while True:
            line = self.stdin.readline()
            if not line:                                  # Ctrl-D / end of the scripted input
                return "\n".join(lines) if lines else None
            line = line.rstrip("\r\n")
            if not lines and line.strip().lower() in COMMANDS:
                return line.strip().lower()
            if not line.strip():
                if lines:
                    return "\n".join(lines)
                continue                                  # blank lines before the answer are ignored
            lines.append(line)

    def read_rating(self, suggested: int) -> int:
        """Enter keeps the suggestion; a number or word overrides it (three tries, then the suggestion)."""
        for _ in range(3):
            self.stdout.write(f"Rating [Enter = {RATING_NAMES[suggested]}; 1 again, 2 hard, 3 good, 4 easy]: ")
            self.stdout.flush()
            word = self.stdin.readline().strip().lower()
            if not word:
                return suggested
            if word in RATING_WORDS or word in ("1", "2", "3", "4"):
                return RATING_WORDS.get(word) or int(word)
            self.say(f"Not a rating: {word!r}.")
        return suggested


def until(due: datetime, now: datetime) -> str:
    """until(now + 10 minutes, now) -> "in 10 minutes"."""
    seconds = max(0, (due - now).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = round(seconds / size)
            return f"in {n} {unit}{'s' if n != 1 else ''}"
    return "now"


def show_grade(console: Console, result: Result) -> None:
    g = result.grade
    console.say(f"\nScore {g.score}/100 — suggested rating: {g.rating_name} ({g.rating}); "
                f"covered {len(g.covered)} of {len(g.points)} key points.")
    if result.notice:
        console.say(result.notice)
    console.say(result.feedback)


def show_answer(console: Console, result: Result) -> None:
    q = result.question
    console.say(f"\nThe note's answer ({q.location}):\n{q.answer}")
    if result.feedback:
        console.say(f"\n{result.feedback}")


def run(practice: Practice, topic: str = "", n: int = 10, console: Console | None = None) -> int:
    """One session of up to n questions; returns how many were reviewed."""
    console = console or Console()
    items = practice.next(topic, n)
    if practice.synced.new or practice.synced.retired or practice.synced.moved:
        console.say(f"Cards: {practice.synced.line()}.")
    if not items:
        console.say("Nothing is due and every question has been seen; come back later or widen --topic.")
        return 0
    console.say(HELP)
    reviewed = 0
    for i, question in enumerate(items, start=1):
        console.say(f"\n[{i}/{len(items)}] {question.title}  ({question.source}:{question.line_start})\nQ: {question.question}")
        answer = console.read_answer()
        if answer in (None, ":quit"):
            break
        if answer == ":skip":
            continue
        result = practice.reveal(question.key) if answer == ":reveal" else practice.grade(question.key, answer)
        (show_answer if answer == ":reveal" else show_grade)(console, result)
        now = now_utc()
        due = practice.record(result, console.read_rating(result.grade.rating), now)
        console.say(f"Next review: {due:%Y-%m-%d %H:%M} UTC ({until(due, now)}).")
        reviewed += 1
    console.say(f"\nReviewed {reviewed} of {len(items)}. `iqa practice --stats` shows progress by topic.")
    return reviewed
