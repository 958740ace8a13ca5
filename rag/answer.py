"""Question -> Answer: retrieve, prompt, stream the local model, check citations, attach code.

`Engine.ask_stream` yields ("token", text) while the model writes, then ("answer", Answer).
With no usable model (or --no-llm) the answer is extractive: the most relevant sentences of
the top passages, each cited, composed instantly and never invented.
"""
from __future__ import annotations

import re
import time
from functools import lru_cache
from importlib import resources
from typing import Iterator

import numpy as np

from rag import prompt as promptlib
from rag import store as storelib
from rag import text as textlib
from rag.config import Settings
from rag.errors import IqaError
from rag.retrieve import Retriever
from rag.schema import Answer, Citation, CodeSnippet, Hit

MAX_QUESTION_CHARS = 2000
# The notes cover a question when its best passage is closer to it than any neutral background
# sentence (rag/data/background.txt) by this cosine margin. Raw e5 cosines sit in 0.75-0.95 for
# everything; the margin separated the 90 dev questions (lowest 0.016, 1 declined) from 20
# unrelated ones (highest 0.017) -- bench/RESULTS.md.
OUT_OF_SCOPE_MARGIN = 0.02
CODE_WORDS = re.compile(r"代码|实现|手写|手撕|写一下|怎么写|code|implement|snippet|pytorch|python", re.I)
FOLLOW_UP = re.compile(r"^(那|它|这个|那个|其|上面|刚才|还有|and |what about |how about |its? )|它|这个方法|this|that", re.I)
NOT_COVERED = {"zh": "笔记中没有找到与这个问题相关的内容。", "en": "The notes do not cover this question."}


@lru_cache(maxsize=1)
def background_sentences() -> tuple[str, ...]:
    raw = resources.files("rag").joinpath("data/background.txt").read_text(encoding="utf-8")
    return tuple(line for line in raw.splitlines() if line.strip() and not line.startswith("#"))


def language(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def prepare_question(question: str) -> tuple[str, str]:
    """Strip control characters and bound the length; returns (question, notice)."""
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in " \t")
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise IqaError("The question is empty; type a question, e.g. iqa ask \"ROIAlign vs ROIPool?\".")
    if len(cleaned) > MAX_QUESTION_CHARS:
        return cleaned[:MAX_QUESTION_CHARS], f"The question was truncated to its first {MAX_QUESTION_CHARS} characters."
    return cleaned, ""


def contextualize(question: str, previous: list[str]) -> str:
    """Make a follow-up ("那它的代码怎么写？") standalone by prefixing the last question."""
    if previous and (FOLLOW_UP.search(question) or len(question) <= 8):
        return f"{previous[-1]} {question}"
    return question


class Engine:
    """Everything a UI needs, built once: the index, the embedder, the model (loaded on first use)."""

    def __init__(self, settings: Settings, store=None, embedder=None, llm=None, make_embedder=None,
                 make_llm=None, rerank=None, log=print):
        self.settings, self.log = settings, log
        self.store = store or storelib.load(settings.index, None)
        self._embedder, self._make_embedder = embedder, make_embedder
        self._llm, self._make_llm, self.llm_error = llm, make_llm, ""
        if self._embedder is None and self._make_embedder is None:
            from rag.embed import make_embedder as default_factory
            self._make_embedder = lambda: default_factory(self.store.manifest.embedder, threads=1)
        if rerank is None and settings.reranker:
            from rag.embed import make_reranker
            rerank = make_reranker(settings.reranker)
        self.retriever = Retriever(self.store, self.embed_query, rerank)
        self._background, self._last_query = None, (None, None)
        self._translator, self._translator_error, self._translations = None, "", {}

    # -- retrieval ------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = self._make_embedder()
            if self._embedder.name != self.store.manifest.embedder or self._embedder.dim != self.store.manifest.dim:
                raise IqaError(f"The index was built with {self.store.manifest.embedder!r}, not "
                               f"{self._embedder.name!r}; run `iqa ingest --rebuild PATH`.")
        return self._embedder

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector; the last one is kept because search and the coverage check both need it."""
        if self._last_query[0] != query:
            self._last_query = (query, self.embedder.embed_queries([query])[0])
        return self._last_query[1]

    def search(self, query: str, k: int | None = None, retriever: str | None = None) -> list[Hit]:
        query = self.bilingual(query)
        return self.retriever.search(query, k or self.settings.k, retriever or self.settings.retriever)

    def bilingual(self, query: str) -> str:
        """An English question over Chinese notes, followed by its Chinese translation (both are searched).

        Words cannot match across scripts and the small multilingual embedder misses some pairs
        ("differentiable rendering" / 可微渲染); a 0.5B model translates in about 0.3 s.
        """
        english_sentence = textlib.cjk_share(query) == 0 and len(query.split()) >= 4   # "ROIAlign vs ROIPool?" is terms only
        if not (self.retriever.chinese_corpus and english_sentence and self.settings.translate_model):
            return query
        if query not in self._translations:
            translator = self.translator()
            if translator is None:
                return query
            messages = [{"role": "system", "content": promptlib.template("translate").strip()},
                        {"role": "user", "content": query[:500]}]
            self._translations[query] = re.sub(r"\s+", " ", translator.complete(messages))[:200].strip()
        return f"{query} {self._translations[query]}".strip()

    def translator(self):
        """The query-translation model, loaded on first use; None when it cannot be loaded."""
        if self._translator is None and not self._translator_error:
            self._translator, self._translator_error = self._load_model(self.settings.translate_model, 1, 512)
            if self._translator_error:
                self.log(f"Query translation is off: {self._translator_error}")
        return self._translator

    def _load_model(self, spec: str, threads: int, n_ctx: int):
        """(model, "") or (None, the one-sentence reason it could not be loaded)."""
        from rag.llm import load_llm
        try:
            return load_llm(spec, self.settings.model_cache, threads, n_ctx, self.log), ""
        except IqaError as e:
            return None, str(e)

    def margins(self, hits: list[Hit], vector: np.ndarray) -> np.ndarray:
        """For each hit: its cosine with vector minus that of the closest neutral background sentence."""
        if self._background is None:
            self._background = self.embedder.embed_passages(background_sentences())
        rows = np.stack([self.store.index.reconstruct(self.store.row[h.chunk.id]) for h in hits])
        return rows @ vector - np.max(self._background @ vector)

    def coverage(self, query: str, hits: list[Hit]) -> float:
        """How much closer the best of the top passages is to the query than any background sentence."""
        return float(np.max(self.margins(hits[:3], self.embed_query(query)))) if hits else -1.0

    # -- model ----------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self._llm.name if self._llm else self.settings.llm_model

    def llm(self):
        """The loaded model, or None (with llm_error set) when it cannot be loaded."""
        if self._llm is None and not self.llm_error:
            if self._make_llm:
                try:
                    self._llm = self._make_llm()
                except IqaError as e:
                    self.llm_error = str(e)
            else:
                s = self.settings
                self._llm, self.llm_error = self._load_model(s.llm_model, s.threads, s.n_ctx)
        return self._llm

    # -- answering ------------------------------------------------------------------
    def ask(self, question: str, **kw) -> Answer:
        answer = None
        for kind, value in self.ask_stream(question, **kw):
            if kind == "answer":
                answer = value
        return answer

    def ask_stream(self, question: str, k: int | None = None, retriever: str | None = None,
                   use_llm: bool = True, history: list[str] | None = None) -> Iterator[tuple[str, object]]:
        t0 = time.perf_counter()
        question, notice = prepare_question(question)
        query = self.bilingual(contextualize(question, history or []))
        hits = self.retriever.search(query, k or self.settings.k, retriever or self.settings.retriever)
        timings = {"retrieve_ms": round((time.perf_counter() - t0) * 1000, 1)}
        covered = bool(hits) and ((retriever or self.settings.retriever) == "bm25"
                                  or self.coverage(query, hits) >= OUT_OF_SCOPE_MARGIN)
        if not covered:
            text = NOT_COVERED[language(question)]
            yield "token", text
            yield "answer", self._finish(question, text, hits, [], "out_of_scope", timings, t0, notice)
            return
        llm = self.llm() if use_llm else None
        if llm is None:
            if use_llm and self.llm_error:
                notice = (notice + " " if notice else "") + f"Extractive answer: {self.llm_error}"
            text, used = extractive(query, hits)
            yield "token", text
            yield "answer", self._finish(question, text, hits, used, "extractive", timings, t0, notice)
            return
        yield from self._generate(question, hits, llm, timings, t0, notice)

    def _generate(self, question, hits, llm, timings, t0, notice):
        passages = promptlib.select_passages(hits, self.settings.context_tokens)
        messages = promptlib.build_messages(question, passages)
        pieces, first = [], None
        for piece in llm.stream(messages, self.settings.max_tokens, self.settings.temperature):
            first = first or time.perf_counter()
            pieces.append(piece)
            yield "token", piece
            if re.search(r"[。.!！?？\n]", piece) and trim_repetition("".join(pieces))[1]:
                break       # small models at low temperature can loop; stop at the first repeated sentence
        end = time.perf_counter()
        raw = drop_echoed_question(trim_repetition("".join(pieces))[0], question).strip()
        model_markers = len(parse_valid(raw, len(passages)))
        attributed, added = promptlib.attribute(raw, self._chooser(passages))
        text, valid, invalid = promptlib.check_citations(attributed, len(passages))
        timings["first_token_ms"] = round(((first or end) - t0) * 1000, 1)
        timings["tokens_per_s"] = round(len(pieces) / max(end - (first or end), 1e-6), 1) if len(pieces) > 1 else 0.0
        shown = [hit for _, hit, _ in passages]
        answer = self._finish(question, text, shown, valid, "llm", timings, t0, notice)
        answer.markers_valid, answer.markers_invalid = model_markers, invalid
        answer.markers_attributed = added
        yield "answer", answer

    def _chooser(self, passages):
        """Words first; for a sentence in another language than its notes, the multilingual vectors."""
        lexical = promptlib.lexical_chooser(passages)
        hits = [hit for _, hit, _ in passages]

        def choose(sentence: str) -> int | None:
            n = lexical(sentence)
            if n or textlib.cjk_share(sentence) > 0 or not self.retriever.chinese_corpus:
                return n
            margins = self.margins(hits, self.embedder.embed_queries([sentence])[0])
            best = int(np.argmax(margins))
            return passages[best][0] if margins[best] >= OUT_OF_SCOPE_MARGIN else None
        return choose

    def _finish(self, question, text, hits, used, mode, timings, t0, notice) -> Answer:
        citations = [Citation(n, hits[n - 1].chunk) for n in used]
        wants_code = mode != "out_of_scope" and bool(CODE_WORDS.search(question))
        code_from = [c.chunk for c in citations] or ([h.chunk for h in hits[:3]] if wants_code else [])
        if wants_code:
            code_from += [h.chunk for h in hits[:3] if h.chunk not in code_from]
        code: list[CodeSnippet] = [s for c in code_from for s in c.code]
        sources = [c.source for c in code_from for _ in c.code]
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        timings.setdefault("first_token_ms", timings["total_ms"])
        timings.setdefault("tokens_per_s", 0.0)
        model = self.model_name if mode == "llm" else "extractive"
        return Answer(question, text, citations, code, sources, hits, model, mode, timings,
                      markers_valid=len(used) if mode == "extractive" else 0, notice=notice.strip())


def trim_repetition(text: str) -> tuple[str, bool]:
    """Cut the text before its first sentence that repeats an earlier one (ignoring whitespace)."""
    seen = set()
    for a, b in textlib.split_sentences(text):
        key = re.sub(r"\s+", "", text[a:b])
        if b == len(text) and not re.search(r"[。.!！?？\n]\s*$", text[a:b]):
            break                                  # the sentence still being written
        if len(key) >= 6 and key in seen:
            return text[:a].rstrip(), True
        seen.add(key)
    return text, False


def drop_echoed_question(text: str, question: str) -> str:
    """Small models sometimes end by repeating the question; that line is not part of the answer."""
    target = textlib.squash(question)
    return "\n".join(line for line in text.splitlines()
                     if textlib.squash(promptlib.MARKER.sub("", line)) != target)


def parse_valid(raw: str, n_sources: int) -> list[int]:
    return [n for n in promptlib.parse_markers(raw) if 1 <= n <= n_sources]


def extractive(query: str, hits: list[Hit], sentences: int = 3) -> tuple[str, list[int]]:
    """The sentences of the top passages that share most terms with the query, each cited.

    Sentences sharing no term with the query are left out unless nothing matches at all.
    """
    terms = set(textlib.tokenize(query))
    scored = []
    for n, hit in enumerate(hits[:3], start=1):
        text = hit.chunk.text
        for order, (a, b) in enumerate(textlib.split_sentences(text)):
            sentence = text[a:b].strip(" \n•-*")
            if len(sentence) < 6 or sentence.startswith(("```", "import ", "def ", "class ")):
                continue
            overlap = len(terms & set(textlib.tokenize(sentence)))
            scored.append((overlap + 0.5 / n, n, order, sentence, overlap))
    matching = [s for s in scored if s[4] > 0] or scored[:1]
    best = sorted(matching, key=lambda s: -s[0])[:sentences]
    best.sort(key=lambda s: (s[1], s[2]))
    used = list(dict.fromkeys(n for _, n, _, _, _ in best))
    return " ".join(promptlib.cite(sentence.rstrip(), n) for _, n, _, sentence, _ in best), used
