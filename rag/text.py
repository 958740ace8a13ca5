"""Text rules for Chinese + English notes, each defined once; the only module that imports jieba and opencc.

    normalise("ＲＯＩ Align ") -> "roi align"
    tokenize("ROIAlign和ROIPool的区别") -> ["roialign", "roipool", "区别"]
    tokenize("特徵金字塔網絡") == tokenize("特征金字塔网络")     # traditional and simplified meet in BM25
    language("LoRA怎么初始化") -> "zh"

The term dictionary lives in a private jieba.Tokenizer (never jieba's global one): the built-in
terms (rag/data/terms.txt) are always loaded first, corpus terms are added on top, each once.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from typing import Iterable, Literal

import jieba
import opencc

jieba.setLogLevel(logging.WARNING)

# CJK ideographs: Extension A, the Unified block and the Compatibility block (kana and Hangul are not).
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Sentence ends: Chinese full stops always; Western ones only before space/end so "3.14" survives.
SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』)]?|\.(?=\s|$)|\n+")
WORD = re.compile(r"\w", re.UNICODE)           # \w covers CJK ideographs too
MIXED_TERM = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)+(?![A-Za-z0-9])")
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 啊 吧 呀 么 啥 什么 怎么 怎样 如何 为什么 为啥 哪些 哪个 有 有没有 "
    "一下 一个 一般 这个 那个 这些 那些 就 都 也 还 要 会 能 可以 对 中 把 被 让 说 讲 下 "
    "a an the of to in on for and or is are be do does what how why which with vs".split())
TERM_FREQ = 20000       # high enough that jieba keeps a taught term whole against its own words
JIEBA_VERSION = jieba.__version__
# BM25 tokens are made from simplified characters: a traditional note and a simplified question (or the
# reverse) share their tokens. The chunk text itself is never converted: answers quote the note as written.
SCRIPT_CONFIG = "t2s"
SCRIPT_RULE = f"opencc {metadata.version('opencc')} {SCRIPT_CONFIG}"
_convert_lock = threading.Lock()


# ---- script and language -------------------------------------------------------------------------

def has_cjk(text: str) -> bool:
    """has_cjk("LoRA怎么初始化") -> True"""
    return CJK.search(text) is not None


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the letters of text: cjk_share("BN层") -> 1/3."""
    letters = sum(1 for ch in text if ch.isalpha())
    return len(CJK.findall(text)) / max(1, letters)


def language(text: str) -> Literal["zh", "en"]:
    """language("What is LoRA?") -> "en"; any CJK ideograph makes it "zh"."""
    return "zh" if has_cjk(text) else "en"


def is_english(text: str) -> bool:
    """is_english("ROIAlign vs ROIPool?") -> True (terms only count as English)."""
    return language(text) == "en"


# ---- normal forms and sentences ------------------------------------------------------------------

def normalise(text: str) -> str:
    """NFKC, lower-case, collapse whitespace: normalise("ＲＯＩ  Align") -> "roi align"."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def to_simplified(text: str) -> str:
    """Traditional characters and phrases as simplified ones (OpenCC t2s): to_simplified("過擬合") -> "过拟合"."""
    if not has_cjk(text):
        return text
    if "converter" not in _state:
        with _create_lock:
            _state.setdefault("converter", opencc.OpenCC(SCRIPT_CONFIG))
    with _convert_lock:              # one converter shared by the web UI's threads
        return _state["converter"].convert(text)


def squash(text: str) -> str:
    """NFKC with all whitespace removed (the eval hit rule's comparison form): squash("a b") -> "ab"."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans covering the text; trailing whitespace stays with its sentence.

        split_sentences("甲。乙") -> [(0, 2), (2, 3)]
    """
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        end = m.end()
        if text[start:end].strip():
            spans.append((start, end))
        elif spans:
            spans[-1] = (spans[-1][0], end)
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    elif spans:
        spans[-1] = (spans[-1][0], len(text))
    return spans


def corpus_terms(texts: Iterable[str], min_count: int = 2) -> list[str]:
    """Mixed-script terms jieba would cut at - or . (R-CNN, GPT-4, Qwen2.5) seen min_count times."""
    counts: dict[str, int] = {}
    for text in texts:
        for m in MIXED_TERM.finditer(text):
            term = m.group(0).lower().rstrip(".")
            if len(term) <= 24 and not term.replace(".", "").isdigit():
                counts[term] = counts.get(term, 0) + 1
    return sorted(t for t, c in counts.items() if c >= min_count)


# ---- the term dictionary -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def builtin_terms() -> tuple[str, ...]:
    """The technical terms shipped in rag/data/terms.txt, normalised: "roialign" in builtin_terms() -> True."""
    raw = resources.files("rag").joinpath("data/terms.txt").read_text(encoding="utf-8")
    return tuple(normalise(line) for line in raw.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True, eq=False)
class DictionarySnapshot:
    """A tokenizer state to return to; freq is shared until someone adds a term (copy on write)."""
    freq: dict
    total: int
    loaded: frozenset[str]


class _Dictionary:
    """The private tokenizer and the terms taught to it; `shared` marks FREQ as held by a snapshot."""

    def __init__(self):
        self.tokenizer = jieba.Tokenizer()
        self.tokenizer.initialize()
        self.loaded: set[str] = set()
        self.shared = False
        self.lock = threading.RLock()     # the web UI tokenises on several threads

    def add(self, terms: Iterable[str]) -> None:
        with self.lock:
            new = sorted({normalise(t) for t in terms} - self.loaded - {""})
            if not new:
                return
            if self.shared:               # a snapshot holds this FREQ: change a copy of it instead
                self.tokenizer.FREQ, self.shared = dict(self.tokenizer.FREQ), False
            for term in new:
                self.tokenizer.add_word(term, freq=TERM_FREQ)
            self.loaded.update(new)

    def snapshot(self) -> DictionarySnapshot:
        with self.lock:
            self.shared = True
            return DictionarySnapshot(self.tokenizer.FREQ, self.tokenizer.total, frozenset(self.loaded))

    def restore(self, snap: DictionarySnapshot) -> None:
        with self.lock:
            self.tokenizer.FREQ, self.tokenizer.total = snap.freq, snap.total
            self.loaded, self.shared = set(snap.loaded), True


_state: dict[str, object] = {}          # "dictionary": _Dictionary, "builtin": its built-ins-only snapshot
_create_lock = threading.Lock()


def _dictionary() -> _Dictionary:
    """The tokenizer, created on first use with the built-in terms already loaded (about 0.5 s)."""
    if "dictionary" not in _state:
        with _create_lock:
            if "dictionary" not in _state:
                d = _Dictionary()
                d.add(builtin_terms())
                _state["builtin"] = d.snapshot()
                _state["dictionary"] = d
    return _state["dictionary"]


def load_terms(terms: Iterable[str]) -> None:
    """Teach the tokenizer corpus terms on top of the built-ins (each term once): load_terms(["qwen2.5"])."""
    _dictionary().add(terms)


def reset_dictionary() -> None:
    """Forget corpus terms: back to the built-in terms only (what a fresh process starts with)."""
    _dictionary().restore(_state["builtin"])


def loaded_terms() -> frozenset[str]:
    """Every term taught so far, built-ins included: "特征金字塔网络" in loaded_terms() -> True."""
    return frozenset(_dictionary().loaded)


def dictionary_hash() -> str:
    """Names the tokenizer that made a set of BM25 tokens: 16 hex digits of sha256(jieba version, terms)."""
    d = _dictionary()
    with d.lock:
        terms = sorted(d.loaded)
    payload = "\n".join([f"jieba {JIEBA_VERSION}", f"freq {TERM_FREQ}", *terms])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def snapshot_dictionary() -> DictionarySnapshot:
    """The current dictionary, to hand back to restore_dictionary (cheap: nothing is copied)."""
    return _dictionary().snapshot()


def restore_dictionary(snapshot: DictionarySnapshot) -> None:
    """Return the tokenizer to a snapshot's state: terms taught since then are forgotten."""
    _dictionary().restore(snapshot)


# ---- tokens --------------------------------------------------------------------------------------

def words(text: str) -> list[tuple[str, int, int]]:
    """jieba words of the raw text with (start, end) offsets: words("特征金字塔网络") -> [("特征金字塔网络", 0, 7)]."""
    return list(_dictionary().tokenizer.tokenize(text))


def tokenize(text: str) -> list[str]:
    """Search-mode tokens for BM25: normalised, simplified, sub-words added, stopwords and punctuation dropped.

        tokenize("LoRA的秩") -> ["lora", "秩"]
    """
    tokens = []
    for tok in _dictionary().tokenizer.cut_for_search(to_simplified(normalise(text))):
        tok = tok.strip()
        if tok and tok not in STOPWORDS and WORD.search(tok):
            tokens.append(tok)
    return tokens


def cut_at_word(text: str, limit: int) -> int:
    """Largest offset <= limit that does not fall inside a jieba word (falls back to limit).

        cut_at_word("特征金字塔网络的作用", 9) -> 8      # not inside 作用 (8, 10)
    """
    best = 0
    for _, s, e in words(text[: limit + 32]):
        if e <= limit:
            best = e
        else:
            break
    return best or limit
