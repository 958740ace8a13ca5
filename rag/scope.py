"""Stage 3: is the question covered by the notes at all?

The notes cover a question when its best passage is closer to it than any neutral background
sentence (rag/data/background.txt) by a cosine margin. Raw e5 cosines sit in 0.75-0.95 for
everything; the margin separated the 90 dev questions (lowest 0.016, 1 declined) from 20 unrelated
ones (highest 0.017) -- bench/RESULTS.md. The small embedder reads a row of acronyms poorly
("GIoU DIoU CIoU 分别改进了啥" fell below the margin), so a Chinese question is also covered when
one of the best passages names every English term it asks about, two terms at least.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import lru_cache
from importlib import resources

import numpy as np

from rag import text as textlib
from rag.schema import Hit

OUT_OF_SCOPE_MARGIN = 0.02
SCOPE_HITS = 3
TEXT_VECTORS_CACHED = 256              # the coverage check looks at the best few passages, not only the first
NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9+\-]{2,}")


@lru_cache(maxsize=1)
def background_sentences() -> tuple[str, ...]:
    raw = resources.files("rag").joinpath("data/background.txt").read_text(encoding="utf-8")
    return tuple(line for line in raw.splitlines() if line.strip() and not line.startswith("#"))


class Scope:
    """margins() and covered() over one store, with the embedder loaded by the engine on first use."""

    def __init__(self, store, embedder):
        self.store, self.embedder = store, embedder      # embedder: a callable returning the Embedder
        self._background = None
        self._texts: OrderedDict[str, np.ndarray] = OrderedDict()
        self._texts_lock = threading.Lock()

    def _floor(self, vector: np.ndarray) -> float:
        """The cosine of the closest neutral background sentence."""
        if self._background is None:
            self._background = self.embedder().embed_passages(background_sentences())
        return float(np.max(self._background @ vector))

    def margins(self, hits: list[Hit], vector: np.ndarray) -> np.ndarray:
        """For each hit: its stored vector's cosine with vector, above the background floor."""
        rows = np.stack([self.store.vector(self.store.row[h.chunk.id]) for h in hits])
        return rows @ vector - self._floor(vector)

    def text_margins(self, texts: list[str], vector: np.ndarray) -> np.ndarray:
        """The same for texts embedded whole (what a model was shown, not a chunk's stored opening)."""
        with self._texts_lock:                  # several answers at once share this cache
            missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
        vectors = self.embedder().embed_passages(missing) if missing else []
        with self._texts_lock:
            self._texts.update(zip(missing, vectors))
            found = {t: self._texts[t] for t in texts if t in self._texts}
            while len(self._texts) > TEXT_VECTORS_CACHED:
                self._texts.popitem(last=False)
        rows = np.stack([found[t] if t in found else self.embedder().embed_passages([t])[0] for t in texts])
        return rows @ vector - self._floor(vector)

    def coverage(self, hits: list[Hit], vector: np.ndarray) -> float:
        """How much closer the best of the top passages is to the query than any background sentence."""
        return float(np.max(self.margins(hits[:SCOPE_HITS], vector))) if hits else -1.0

    def covered(self, hits: list[Hit], vector: np.ndarray | None, question: str = "") -> bool:
        """BM25-only search has no vector: any hit counts as covered."""
        if vector is None:
            return bool(hits)
        return self.coverage(hits, vector) >= OUT_OF_SCOPE_MARGIN or names_all_terms(question, hits[:SCOPE_HITS])


def names_all_terms(question: str, hits: list[Hit]) -> bool:
    """A Chinese question's English terms ("GIoU DIoU CIoU 分别改进了啥"), two or more, all in one passage."""
    names = {m.group(0).casefold() for m in NAME.finditer(question)}
    if len(names) < 2 or not textlib.has_cjk(question):
        return False
    return any(all(name in hit.chunk.text.casefold() for name in names) for hit in hits)
