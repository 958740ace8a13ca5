"""Question -> Answer: the thin wiring of the stages that a UI receives.

    prepare ─▶ translate + retrieve ─▶ scope ─▶ generate (a model backend) ─▶ compose ─▶ Answer

`Engine.ask_stream` yields ("token", text) while the answer is written, then ("answer", Answer).
With no usable default model (or use_llm=False) the extractive backend answers: the most relevant
sentences of the top passages, each cited, composed instantly and never invented.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterator

from rag import store as storelib
from rag.backends import ModelPool
from rag.backends.extractive import ExtractiveBackend
from rag.compose import cite_check, compose, cross_language_chooser, declined, margin_judge
from rag.config import Settings
from rag.errors import IndexUnavailable
from rag.generate import generate
from rag.prepare import prepare
from rag.retrieve import Retriever
from rag.schema import Answer, Hit
from rag.scope import Scope
from rag.translate import QueryTranslator

QUERY_VECTORS_CACHED = 64


class Engine:
    """Everything a UI needs, built once: the index, the embedder and models (each loaded on first use)."""

    def __init__(self, settings: Settings, store=None, embedder=None, llm=None, log=print):
        self.settings, self.log = settings, log
        self.store = store or storelib.load(settings.index, None, log=log)
        self._embedder = embedder
        self.models = ModelPool(settings, log, answer_model=llm)
        self.embed_query = lru_cache(maxsize=QUERY_VECTORS_CACHED)(self._embed_query)
        self.retriever = Retriever(self.store, self.embed_query, _reranker(settings))
        self.translator = QueryTranslator(self.models.translator, self.retriever.chinese_corpus)
        self.scope = Scope(self.store, self.embedder)

    def embedder(self):
        """The embedder the index was built with, loaded on first use."""
        if self._embedder is None:
            from rag.embed import make_embedder
            self._embedder = make_embedder(self.store.manifest.embedder, threads=1)
        if self._embedder.name != self.store.manifest.embedder or self._embedder.dim != self.store.manifest.dim:
            raise IndexUnavailable(f"The index was built with {self.store.manifest.embedder!r}, not "
                                   f"{self._embedder.name!r}; run `iqa ingest --rebuild PATH`.")
        return self._embedder

    def _embed_query(self, query: str):
        return self.embedder().embed_queries([query])[0]

    @property
    def model_name(self) -> str:
        return self.models.answer_name

    def searched_as(self, query: str) -> str:
        """The query as searched: bounded, and an English one over Chinese notes with its translation."""
        return self.translator.expand(prepare(query).query)

    def search(self, query: str, k: int | None = None, retriever: str | None = None) -> list[Hit]:
        """Ranked passages for a query."""
        return self.retriever.search(self.searched_as(query), k or self.settings.k, retriever or self.settings.retriever)

    def ask(self, question: str, **kw) -> Answer:
        return [value for kind, value in self.ask_stream(question, **kw) if kind == "answer"][-1]

    def ask_stream(self, question: str, k: int | None = None, retriever: str | None = None,
                   use_llm: bool = True, history: list[str] | None = None) -> Iterator[tuple[str, object]]:
        model, why = self.models.answer_model() if use_llm else (None, "")
        model = model or ExtractiveBackend()
        turn = prepare(question, history, model.count_tokens)
        turn.k, turn.retriever = k or self.settings.k, retriever or self.settings.retriever
        turn.note(f"Extractive answer: {why}" if why else "")
        turn.query = self.translator.expand(turn.query)
        turn.hits = self.retriever.search(turn.query, turn.k, turn.retriever)
        turn.clock("retrieve_ms")
        vector = self.embed_query(turn.query) if turn.retriever != "bm25" and turn.hits else None
        if not self.scope.covered(turn.hits, vector):
            text = declined(turn)
            yield "token", text
            yield "answer", compose(turn, text)
            return
        for piece in generate(turn, model, self.settings):
            yield "token", piece
        choose = cross_language_chooser(turn, self.scope, self.embed_query, self.retriever.chinese_corpus)
        text = cite_check(turn, choose)
        yield "answer", compose(turn, text, margin_judge(turn, self.scope, self.embed_query))


def _reranker(settings: Settings):
    if not settings.reranker:
        return None
    from rag.embed import make_reranker
    return make_reranker(settings.reranker)
