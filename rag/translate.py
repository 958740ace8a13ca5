"""Query translation, a query expander for retrieval: an English question over Chinese notes is
searched together with its Chinese translation.

Words cannot match across scripts and the small multilingual embedder misses some pairs
("differentiable rendering" / 可微渲染). Terms-only questions ("ROIAlign vs ROIPool?") need no
translation: their terms are written the same way in the notes.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from contextlib import nullcontext

from rag import text as textlib
from rag.prompt import template

MIN_WORDS = 4               # "ROIAlign vs ROIPool?" (3 words) is terms only
MAX_INPUT_CHARS = 500
MAX_OUTPUT_CHARS = 200
CACHE_SIZE = 256


def worth_translating(query: str) -> bool:
    return textlib.is_english(query) and len(query.split()) >= MIN_WORDS


class QueryTranslator:
    """expand(query) -> "query 中文译文"; model() returns the chat model to translate with, or None."""

    def __init__(self, model, chinese_corpus: bool):
        self.model, self.chinese_corpus = model, chinese_corpus
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_lock = threading.Lock()      # the web chat expands queries from several threads

    def expand(self, query: str) -> str:
        if not (self.chinese_corpus and worth_translating(query)):
            return query
        with self._cache_lock:
            translation = self._cache.get(query)
        if translation is None:
            translator = self.model()
            if translator is None:
                return query
            translation = self._translate(translator, query)
            if translation:                      # "" (the model failed) is not kept: the next question tries again
                with self._cache_lock:
                    self._cache[query] = translation
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
        return f"{query} {translation}".strip()

    @staticmethod
    def _translate(translator, query: str) -> str:
        messages = [{"role": "system", "content": template("translate").strip()},
                    {"role": "user", "content": query[:MAX_INPUT_CHARS]}]
        with _one_at_a_time(translator):
            return re.sub(r"\s+", " ", translator.complete(messages))[:MAX_OUTPUT_CHARS].strip()


_LOCKS: dict[int, threading.Lock] = {}      # id(model) -> its lock; a process holds a few models at most


def _one_at_a_time(model):
    """A lock for a model that writes one answer at a time (an in-process GGUF is not re-entrant: with a
    model server answering 8 questions at once, a separate translation GGUF is called from 8 threads);
    none for a model server that takes requests in parallel. One lock per model, whichever generation asks."""
    if getattr(model, "parallel", 1) > 1:
        return nullcontext()
    return _LOCKS.setdefault(id(model), threading.Lock())      # setdefault is atomic: one lock per model
