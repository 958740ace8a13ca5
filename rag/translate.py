"""Query translation, a query expander for retrieval: an English question over Chinese notes is
searched together with its Chinese translation.

Words cannot match across scripts and the small multilingual embedder misses some pairs
("differentiable rendering" / 可微渲染). Terms-only questions ("ROIAlign vs ROIPool?") need no
translation: their terms are written the same way in the notes.
"""
from __future__ import annotations

import re
from collections import OrderedDict

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

    def expand(self, query: str) -> str:
        if not (self.chinese_corpus and worth_translating(query)):
            return query
        if query not in self._cache:
            translator = self.model()
            if translator is None:
                return query
            self._cache[query] = self._translate(translator, query)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return f"{query} {self._cache[query]}".strip()

    @staticmethod
    def _translate(translator, query: str) -> str:
        messages = [{"role": "system", "content": template("translate").strip()},
                    {"role": "user", "content": query[:MAX_INPUT_CHARS]}]
        return re.sub(r"\s+", " ", translator.complete(messages))[:MAX_OUTPUT_CHARS].strip()
