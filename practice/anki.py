"""`iqa export anki OUT.apkg`: every question section as an Anki note; the only module that imports genanki.

Front: the question and its heading path. Back: the note's answer, its code as <pre> blocks, and
`source:line`. Every piece of note text is HTML-escaped (a note is data, never markup).

Ids are hashes, never random: the model and deck ids come from fixed names, and each note's guid
(what Anki matches on import) from the section's stable key, so importing a new export updates the
cards already in Anki instead of adding copies.

    export_anki(questions(store.chunks), Path("iqa.apkg")) -> 7
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import genanki

from practice.questions import Question
from rag.errors import InputError
from rag.prompt import split_code

DECK_NAME = "iqa interview notes"
FIELDS = ["Question", "Path", "Answer", "Source"]
CSS = ".card { font-family: sans-serif; font-size: 18px; text-align: left; }\n" \
      ".path { color: #777; font-size: 14px; } .src { color: #777; font-size: 13px; margin-top: 1em; }\n" \
      "pre { background: #f4f4f4; padding: 0.5em; overflow-x: auto; font-size: 14px; }"
FRONT = '<div class="path">{{Path}}</div><div>{{Question}}</div>'
BACK = '{{FrontSide}}<hr id="answer"><div>{{Answer}}</div><div class="src">{{Source}}</div>'
FENCE_LINE = re.compile(r"^\s*(```|~~~)[^\n]*\n?|\n?\s*(```|~~~)\s*$")


def stable_id(name: str) -> int:
    """A 31-bit positive id from a name: the same name gives the same id in every export."""
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16) & 0x7FFFFFFF | 1 << 30


MODEL = genanki.Model(stable_id("iqa practice model v1"), "iqa question", fields=[{"name": f} for f in FIELDS],
                      templates=[{"name": "Answer the question", "qfmt": FRONT, "afmt": BACK}], css=CSS)


def answer_html(text: str) -> str:
    """Prose escaped with line breaks kept; fenced code escaped inside <pre><code>."""
    out = []
    for part, is_code in split_code(text, inline=False):
        if is_code:
            out.append(f"<pre><code>{html.escape(FENCE_LINE.sub('', part))}</code></pre>")
        elif part.strip():
            out.append(html.escape(part.strip()).replace("\n", "<br>"))
    return "".join(out)


def note_for(question: Question) -> genanki.Note:
    fields = [html.escape(question.question), html.escape(question.title), answer_html(question.answer),
              html.escape(question.location)]
    tag = re.sub(r"[\s\"]+", "_", question.topic) or "notes"
    return genanki.Note(model=MODEL, fields=fields, guid=genanki.guid_for("iqa", question.key), tags=["iqa", tag])


def export_anki(items: list[Question], out: Path, deck_name: str = DECK_NAME) -> int:
    """Write the package; returns the number of notes."""
    out = Path(out)
    if out.suffix.lower() != ".apkg":
        raise InputError(f"The Anki package must end in .apkg, not {out.name!r}; pass e.g. notes.apkg.")
    if not items:
        raise InputError("The index holds no question sections to export; run `iqa ingest PATH` on your notes first.")
    deck = genanki.Deck(stable_id(f"iqa deck {deck_name}"), deck_name)
    for question in items:
        deck.add_note(note_for(question))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        genanki.Package(deck).write_to_file(str(out))
    except OSError as e:
        raise InputError(f"Cannot write {out} ({e.strerror or e}); pass a path in a writable folder.") from e
    return len(items)
