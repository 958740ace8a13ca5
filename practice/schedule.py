"""Review scheduling by FSRS (the `fsrs` package); the only module that imports fsrs.

A card's FSRS state travels as the JSON fsrs writes itself (Card.to_json), stored in SQLite by
practice/cards.py. Fuzzing is off: the same review on the same day gives the same due date, so a
session can be replayed and a test can check the interval FSRS chose.

    state = new_card("3f9a0c1d2b4e5f60")
    state, due = review(state, 3, datetime.now(timezone.utc))    # good: due in 10 minutes (2nd learning step)
"""
from __future__ import annotations

from datetime import datetime, timezone

from fsrs import Card, Rating, Scheduler

SCHEDULER = Scheduler(enable_fuzzing=False)
LEARNING_STEPS = SCHEDULER.learning_steps        # (1 min, 10 min) by default


def new_card(key: str, now: datetime | None = None) -> str:
    """A new card's FSRS state for a section key, due now."""
    return Card(card_id=int(key[:12], 16), due=now or datetime.now(timezone.utc)).to_json()


def review(state: str, rating: int, when: datetime) -> tuple[str, datetime]:
    """The state after a review rated 1-4 (again / hard / good / easy) at `when`, and the next due date."""
    card, _ = SCHEDULER.review_card(Card.from_json(state), Rating(int(rating)), review_datetime=when)
    return card.to_json(), card.due


def due(state: str) -> datetime:
    return Card.from_json(state).due


def stability(state: str) -> float | None:
    """Days for recall to fall to 90%; None before the first review."""
    return Card.from_json(state).stability
