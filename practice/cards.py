"""Cards and review logs in SQLite ($IQA_HOME/practice.sqlite): one card per question section.

    cards    key (the section's stable key, practice/questions.py), where it is, its FSRS state and due
             date, retired (1 when the section left the notes: kept with its history, never deleted)
    reviews  one row per graded answer: when, score, the rating the grade suggested and the one kept

Each call opens its own connection, so the web tab's worker threads and a CLI session can share
the file (SQLite serialises the writes).

    store = CardStore(settings.home / "practice.sqlite")
    store.sync(questions(engine.store.chunks))     # new sections get cards, vanished ones are retired
    store.pick(["3f9a…", …], n=10)                  # due reviews first, then new cards
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from practice import schedule
from practice.questions import Question
from rag.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, heading TEXT NOT NULL, question TEXT NOT NULL,
    topic TEXT NOT NULL, fingerprint TEXT NOT NULL, position INTEGER NOT NULL, fsrs TEXT NOT NULL,
    due TEXT NOT NULL, retired INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL REFERENCES cards(key), at TEXT NOT NULL,
    score INTEGER NOT NULL, suggested INTEGER NOT NULL, rating INTEGER NOT NULL, due_after TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reviews_key ON reviews(key);
"""
# PRAGMA user_version of the file. 0 is a file from before versions were recorded (the same tables as 1).
# A change to the tables adds MIGRATIONS[n]: the statements that take a version n-1 file to version n.
SCHEMA_VERSION = 1
MIGRATIONS: dict[int, list[str]] = {}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SyncReport:
    new: int = 0
    retired: int = 0
    moved: int = 0          # renamed or moved sections whose card (and history) followed them

    def line(self) -> str:
        return f"{self.new} new, {self.moved} followed a renamed heading, {self.retired} retired"


class CardStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db(write=True) as db:
                self._migrate(db)
        except (OSError, sqlite3.DatabaseError) as e:
            raise InputError(f"The practice file {self.path} cannot be opened ({e}); "
                             f"check that IQA_HOME is a writable folder.") from e

    def _migrate(self, db) -> None:
        """Create the tables, or bring an older file up to SCHEMA_VERSION; a newer file is refused."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"The practice file {self.path} was written by a newer iqa (schema {version}, this one "
                             f"reads {SCHEMA_VERSION}); upgrade iqa, or set IQA_HOME to another folder.")
        for statement in [*SCHEMA.split(";"), *(sql for n in range(version + 1, SCHEMA_VERSION + 1)
                                                for sql in MIGRATIONS.get(n, []))]:
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    @contextmanager
    def _db(self, write: bool = False):
        """One connection and one transaction (committed on success, rolled back on error). write: the
        transaction takes the write lock before its first read, so a check-then-insert (sync) cannot
        interleave with another process or thread doing the same (two tabs, or the CLI and the chat)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            with db:
                if write:
                    db.execute("BEGIN IMMEDIATE")
                yield db

    def sync(self, items: list[Question], now: datetime | None = None) -> SyncReport:
        """Cards for the index's question sections: add new ones, follow renames, retire vanished ones."""
        now, report = now or now_utc(), SyncReport()
        with self._db(write=True) as db:
            known = {row["key"]: row for row in db.execute("SELECT key, fingerprint, retired FROM cards")}
            live = {q.key for q in items}
            gone = {k: row for k, row in known.items() if k not in live}
            for position, q in enumerate(items):
                if q.key not in known and (old := _renamed(gone, q)):
                    db.execute("UPDATE reviews SET key = ? WHERE key = ?", (q.key, old))
                    db.execute("UPDATE cards SET key = ? WHERE key = ?", (q.key, old))
                    known[q.key] = gone.pop(old)
                    report.moved += 1
                if q.key in known:
                    db.execute("UPDATE cards SET source=?, heading=?, question=?, topic=?, fingerprint=?, position=?, "
                               "retired=0 WHERE key=?", (*_fields(q), position, q.key))
                else:
                    state = schedule.new_card(q.key, now)
                    db.execute("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,0,?)",
                               (q.key, *_fields(q), position, state, now.isoformat(), now.isoformat()))
                    report.new += 1
            retire = [k for k, row in gone.items() if not row["retired"]]
            db.executemany("UPDATE cards SET retired = 1 WHERE key = ?", [(k,) for k in retire])
            report.retired = len(retire)
        return report

    def pick(self, keys: list[str], n: int, now: datetime | None = None) -> list[str]:
        """Up to n of these keys: reviews due by now (most overdue first), then new cards in note order."""
        now, allowed = (now or now_utc()).isoformat(), set(keys)
        with self._db() as db:
            rows = db.execute("SELECT c.key, c.due, c.position, (SELECT COUNT(*) FROM reviews r WHERE r.key = c.key) AS n "
                              "FROM cards c WHERE c.retired = 0").fetchall()
        rows = [r for r in rows if r["key"] in allowed]
        due = sorted((r for r in rows if r["n"] and r["due"] <= now), key=lambda r: r["due"])
        new = sorted((r for r in rows if not r["n"]), key=lambda r: r["position"])
        return [r["key"] for r in due + new][:max(0, n)]

    def card(self, key: str) -> dict | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM cards WHERE key = ?", (key,)).fetchone()
        return dict(row) if row else None

    def record(self, key: str, score: int, suggested: int, rating: int, when: datetime | None = None) -> datetime:
        """Log a review and move the card on by FSRS; returns the next due date."""
        when = when or now_utc()
        if rating not in (1, 2, 3, 4):
            raise InputError(f"The rating must be 1 (again), 2 (hard), 3 (good) or 4 (easy), not {rating!r}.")
        with self._db() as db:
            row = db.execute("SELECT fsrs FROM cards WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise InputError(f"No practice card {key!r}; run `iqa practice` to pick one from the index.")
            state, due = schedule.review(row["fsrs"], rating, when)
            db.execute("UPDATE cards SET fsrs = ?, due = ? WHERE key = ?", (state, due.isoformat(), key))
            db.execute("INSERT INTO reviews (key, at, score, suggested, rating, due_after) VALUES (?,?,?,?,?,?)",
                       (key, when.isoformat(), int(score), int(suggested), int(rating), due.isoformat()))
        return due

    def history(self, key: str | None = None) -> list[dict]:
        """Review logs, oldest first, each with its card's topic and question (all cards when key is None)."""
        query = ("SELECT r.*, c.topic, c.question, c.retired FROM reviews r JOIN cards c ON c.key = r.key"
                 + (" WHERE r.key = ?" if key else "") + " ORDER BY r.at, r.id")
        with self._db() as db:
            return [dict(row) for row in db.execute(query, (key,) if key else ())]

    def cards(self) -> list[dict]:
        with self._db() as db:
            return [dict(row) for row in db.execute("SELECT * FROM cards ORDER BY position")]


def _fields(q: Question) -> tuple:
    return q.source, json.dumps(q.heading, ensure_ascii=False), q.question, q.topic, q.fingerprint


def _renamed(gone: dict, q: Question) -> str | None:
    """The one vanished card whose answer had this section's fingerprint: the same section, renamed or moved."""
    same = [key for key, row in gone.items() if row["fingerprint"] == q.fingerprint]
    return same[0] if len(same) == 1 else None
