"""Question -> Answer: the thin wiring of the stages that a UI receives.

    prepare ─▶ translate + retrieve ─▶ scope ─▶ generate (a model backend) ─▶ compose ─▶ Answer

`Engine.ask_stream` yields ("token", text) while the answer is written, each piece checked and final
(rag/settle.py), then ("answer", Answer). Should the final text not extend what was shown (a model
server failing mid-answer gives way to the extractive answer), ("replace", text) comes before it.
With no usable default model (or use_llm=False) the extractive backend answers: the most relevant
sentences of the top passages, each cited, composed instantly and never invented.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from functools import lru_cache
from typing import Iterator

from rag import store as storelib
from rag import text as textlib
from rag.backends import ModelPool
from rag.backends.extractive import ExtractiveBackend
from rag.compose import cite_check, compose, cross_language_chooser, declined, margin_judge, said_something
from rag.config import Settings
from rag.errors import IndexUnavailable, IqaError, ModelUnavailable
from rag.generate import generate
from rag.grounding import mark_unsupported, support
from rag.prepare import prepare
from rag.prompt import merge_sections
from rag.quote import with_quotes
from rag.retrieve import Retriever
from rag.schema import Answer, Hit, Markers
from rag.scope import Scope
from rag.settle import Settler
from rag.translate import QueryTranslator

QUERY_VECTORS_CACHED = 64


class Generation:
    """One loaded index generation and the stages that hold its store.

    A question takes the engine's live Generation once and uses only it, so an answer in progress
    keeps its own store while a newer generation is loaded for the next question.
    """

    def __init__(self, store, engine: "Engine"):
        self.store = store
        self.retriever = Retriever(store, engine.embed_query, engine.rerank)
        self.translator = QueryTranslator(engine.models.translator, self.retriever.chinese_corpus)
        self.scope = Scope(store, engine.embedder)


class Engine:
    """Everything a UI needs, built once: the index, the embedder and models (each loaded on first use).

    Before each question the engine reads the index's CURRENT pointer; when `iqa ingest` switched it,
    the new generation is loaded (the embedder and models stay) and answers the following questions.
    """

    def __init__(self, settings: Settings, store=None, embedder=None, llm=None, log=print):
        self.settings, self.log = settings, log
        self._embedder = embedder
        self.models = ModelPool(settings, log, answer_model=llm)
        self.embed_query = lru_cache(maxsize=QUERY_VECTORS_CACHED)(self._embed_query)
        self.rerank = _reranker(settings)
        self.live = Generation(store or storelib.load(settings.index, None, log=log, store_spec=settings.store), self)
        self._reloading = threading.Lock()
        self._refused = ""          # a generation that could not be loaded: not retried until CURRENT moves on

    @property
    def store(self):
        """The store of the live generation."""
        return self.live.store

    def refresh(self) -> Generation:
        """The generation to answer from: the loaded one, or the newer one CURRENT now names.

        Costs one small file read per question. One thread loads a new generation while questions that
        arrive meanwhile wait for it; one that cannot be loaded leaves the loaded generation live.
        """
        live = self.live
        folder = storelib.current_folder(self.settings.index)
        if folder is None or live.store.folder is None or folder.name in (live.store.folder.name, self._refused):
            return live
        with self._reloading:
            if folder.name not in (self.live.store.folder.name, self._refused):     # not loaded while we waited
                new = _load_generation(self, folder.name)
                self.live, self._refused = (new, "") if new else (self.live, folder.name)
        return self.live

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
        return self.refresh().translator.expand(prepare(query).query)

    def search(self, query: str, k: int | None = None, retriever: str | None = None) -> list[Hit]:
        """Ranked passages for a query."""
        live = self.refresh()
        query = live.translator.expand(prepare(query).query)
        return live.retriever.search(query, k or self.settings.k, retriever or self.settings.retriever)

    def ask(self, question: str, **kw) -> Answer:
        return [value for kind, value in self.ask_stream(question, **kw) if kind == "answer"][-1]

    def ask_stream(self, question: str, k: int | None = None, retriever: str | None = None,
                   use_llm: bool = True, history: list[str] | None = None) -> Iterator[tuple[str, object]]:
        live = self.refresh()           # this answer uses this generation only, whatever ingest does meanwhile
        model, why = self.models.answer_model() if use_llm else (None, "")
        model = model or ExtractiveBackend()
        turn = prepare(question, history, model.count_tokens)
        turn.k, turn.retriever = k or self.settings.k, retriever or self.settings.retriever
        turn.note(f"Extractive answer: {why}" if why else "")
        turn.query = live.translator.expand(turn.query)
        turn.hits = live.retriever.search(turn.query, turn.k, turn.retriever)
        turn.clock("retrieve_ms")
        vector = self.embed_query(turn.query) if turn.retriever != "bm25" and turn.hits else None
        if not live.scope.covered(turn.hits, vector, turn.query):
            text = declined(turn)
            yield "token", text
            yield "answer", compose(turn, text)
            return
        turn.closeness = _closeness(live, turn, self.embed_query)
        yield from _written(turn, live, model, self.embed_query, self.settings)


def _written(turn, live: Generation, model, embed, settings) -> Iterator[tuple[str, object]]:
    """The answer streamed as it will stand (each sentence once the checks passed it), then the Answer."""
    checks = _Checks(turn, live, embed)
    settler = Settler(checks.preview)
    replaced = False
    for piece in _generate_or_quote(turn, model, settings):
        if piece is FALLBACK:           # what was shown of the model's answer gives way to the quoted one
            replaced, settler = bool(settler.shown), Settler(checks.preview)
        elif (shown := settler.feed(piece)) and not replaced:
            yield "token", shown
    choose, judge = checks.choose_and_judge()
    text = with_quotes(turn, cite_check(turn, choose))
    answer = compose(turn, text, judge)
    final = mark_unsupported(answer.text, answer.sentences)
    rest, extends = settler.close(final)
    yield ("token", rest) if extends and not replaced else ("replace", final)
    yield "answer", answer


class _Checks:
    """The citation and support checks of one answer, on the passages its prompt shows (known once
    generation has begun), for the stream's previews and the final text alike."""

    def __init__(self, turn, live: Generation, embed):
        self.turn, self.live, self.embed = turn, live, embed
        self._built: tuple = (None, None)      # (the passages they were built for, (choose, judge))

    def choose_and_judge(self):
        """Built once per list of shown passages (each builder tokenizes every passage), not per preview."""
        passages, built = self._built
        if passages is not self.turn.passages:
            choose = cross_language_chooser(self.turn, self.live.scope, self.embed, self.live.retriever.chinese_corpus)
            built = (choose, margin_judge(self.turn, self.live.scope, self.embed))
            self._built = (self.turn.passages, built)
        return built

    def preview(self, raw: str) -> str:
        """The answer text that raw (the model's text so far) gives, marked as the final answer is."""
        turn = self.turn
        preview = replace(turn, raw=raw, notices=[], markers=Markers())
        choose, judge = self.choose_and_judge()
        text = cite_check(preview, choose)
        if turn.mode != "llm":
            return text
        return mark_unsupported(text, support(text, {p.n: p.hit.chunk.text for p in turn.passages}, judge))


def _closeness(live: Generation, turn, embed) -> dict[str, float]:
    """How close the top sections are to the question: cosine above the background (rag/scope.py), by chunk id."""
    top = merge_sections(turn.hits)[:3]
    return {h.chunk.id: float(m) for h, m in zip(top, live.scope.margins(top, embed(turn.query)))} if top else {}


FALLBACK = object()      # in the stream of pieces: the extractive answer follows, in place of the model's
NOTHING_WRITTEN = "Extractive answer: the model gave no answer of its own (it only repeated the question)."


def _generate_or_quote(turn, model, settings) -> Iterator[str | object]:
    """The model's answer; when the model fails on the way (a model server down, too slow, or cut off
    mid-answer) or writes nothing but the question back, FALLBACK and then the extractive answer from
    the same passages, with what happened as its notice."""
    try:
        yield from generate(turn, model, settings)
    except ModelUnavailable as e:
        turn.note(f"Extractive answer: {e}")
    else:
        if said_something(turn):
            return
        turn.note(NOTHING_WRITTEN)
    yield FALLBACK
    yield from generate(turn, ExtractiveBackend(), settings)


def _load_generation(engine: Engine, name: str) -> Generation | None:
    """The generation CURRENT names, loaded beside the live one; None (and one log line) when it cannot serve.

    The term dictionary is reset first so BM25 tokens match what ingest made (as in a fresh process);
    a failed load puts the dictionary back. Another embedder would need another model: restart for it.
    """
    live, snapshot = engine.live.store, textlib.snapshot_dictionary()
    textlib.reset_dictionary()
    try:
        store = storelib.load(engine.settings.index, None, log=engine.log, store_spec=engine.settings.store)
        if (store.manifest.embedder, store.manifest.dim) != (live.manifest.embedder, live.manifest.dim):
            raise IndexUnavailable(f"it was built with embedder {store.manifest.embedder!r}, not "
                                   f"{live.manifest.embedder!r}; restart `iqa ui` to use it.")
    except IqaError as e:
        textlib.restore_dictionary(snapshot)
        engine.log(f"Still answering from {live.folder.name}: the new index {name} cannot be used ({e})")
        return None
    engine.log(f"Index reloaded: {store.folder.name}, {len(store.chunks)} passages.")
    return Generation(store, engine)


def _reranker(settings: Settings):
    if not settings.reranker:
        return None
    from rag.embed import make_reranker
    return make_reranker(settings.reranker)
