"""What is shown is final: the model's stream is shown sentence by sentence, after the checks.

Whenever the model ends a sentence, the text before its last finished sentence goes through the same
checks as the whole answer (`finish`); the part that extends what is already shown is shown. The last
finished sentence is held back, since a marker or a label may still attach to it, and a decline
sentence is held, since it is dropped when an answer follows it.

    settler = Settler(lambda raw: raw.upper()); settler.feed("a. b. c.") -> "A. "
"""
from __future__ import annotations

import re
from typing import Callable

from rag import text as textlib
from rag.generate import SENTENCE_END
from rag.grounding import is_decline, whole_sentences
from rag.prompt import split_code

HELD_BACK = 2           # sentences not yet shown: the last finished one and the one being written


class Settler:
    def __init__(self, finish: Callable[[str], str]):
        self.finish, self.raw, self.shown = finish, "", ""

    def feed(self, piece: str) -> str:
        """The newly settled text to show after this piece of the model's stream ("" when none)."""
        self.raw += piece
        if not SENTENCE_END.search(piece):
            return ""
        settled = _settled_prefix(self.raw)
        return self.extend(self.finish(settled)) if settled.strip() else ""

    def extend(self, text: str) -> str:
        """What text adds to the part shown, if it only adds to it (and holds no decline sentence)."""
        if not text.startswith(self.shown) or any(is_decline(text[a:b]) for a, b in textlib.split_sentences(text)):
            return ""
        new, self.shown = text[len(self.shown):], text
        return new

    def close(self, final: str) -> tuple[str, bool]:
        """(what the final text adds, True) when it extends the part shown; else (final, False): the
        text shown so far must give way to it."""
        if final.startswith(self.shown):
            return final[len(self.shown):], True
        return final, False


def _settled_prefix(raw: str) -> str:
    """raw without its last HELD_BACK sentences, and never inside a code block."""
    spans = whole_sentences(raw)          # as the checks count sentences: "A；B。" is one
    if len(spans) <= HELD_BACK:
        return ""
    prefix = raw[:spans[-HELD_BACK][0]]
    parts = split_code(prefix, inline=False)
    if parts and parts[-1][1] and not re.search(r"(`{3,}|~{3,})\s*$", parts[-1][0]):
        return "".join(p for p, _ in parts[:-1])            # a code block still open
    return prefix
