"""Text handling for Chinese + English notes; the only module that imports jieba.

    normalise("ＲＯＩ Align ") -> "roi align"
    tokenize("ROIAlign和ROIPool的区别") -> ["roialign", "roipool", "区别"]
"""
from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import jieba

jieba.setLogLevel(logging.WARNING)

# Sentence ends: Chinese full stops always; Western ones only before space/end so "3.14" survives.
SENTENCE_END = re.compile(r"[。！？；!?;]+[”’」』)]?|\.(?=\s|$)|\n+")
WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
MIXED_TERM = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)+(?![A-Za-z0-9])")
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 啊 吧 呀 么 啥 什么 怎么 怎样 如何 为什么 为啥 哪些 哪个 有 有没有 "
    "一下 一个 一般 这个 那个 这些 那些 就 都 也 还 要 会 能 可以 对 中 把 被 让 说 讲 下 "
    "a an the of to in on for and or is are be do does what how why which with vs".split())

_loaded_terms: set[str] = set()


def normalise(text: str) -> str:
    """NFKC, lower-case, collapse whitespace."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the letters of text (0 for English)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff") / max(1, len(letters))


def squash(text: str) -> str:
    """NFKC with all whitespace removed: the eval hit rule's comparison form."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@lru_cache(maxsize=1)
def builtin_terms() -> tuple[str, ...]:
    raw = resources.files("rag").joinpath("data/terms.txt").read_text(encoding="utf-8")
    return tuple(line.strip().lower() for line in raw.splitlines()
                 if line.strip() and not line.startswith("#"))


def add_terms(terms) -> None:
    """Teach jieba technical terms once per process (jieba's dictionary is global state)."""
    for term in terms:
        term = term.strip().lower()
        if term and term not in _loaded_terms:
            _loaded_terms.add(term)
            jieba.add_word(term, freq=20000)


def corpus_terms(texts, min_count: int = 2) -> list[str]:
    """Mixed-script terms such as R-CNN, GPT-4, Qwen2.5 that jieba would cut at - or ."""
    counts: dict[str, int] = {}
    for text in texts:
        for m in MIXED_TERM.finditer(text):
            term = m.group(0).lower().rstrip(".")
            if len(term) <= 24 and not term.replace(".", "").isdigit():
                counts[term] = counts.get(term, 0) + 1
    return sorted(t for t, c in counts.items() if c >= min_count)


def _ensure_dictionary() -> None:
    if not _loaded_terms:
        add_terms(builtin_terms())


def words(text: str) -> list[tuple[str, int, int]]:
    """jieba tokens of the raw text with their (start, end) offsets; never splits a word."""
    _ensure_dictionary()
    return [(w, s, e) for w, s, e in jieba.tokenize(text)]


def tokenize(text: str) -> list[str]:
    """Search-mode tokens for BM25: normalised, sub-words added, stopwords and punctuation dropped."""
    _ensure_dictionary()
    tokens = []
    for tok in jieba.cut_for_search(normalise(text)):
        tok = tok.strip()
        if tok and tok not in STOPWORDS and WORD.search(tok):
            tokens.append(tok)
    return tokens


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of sentences covering the text; trailing whitespace stays with its sentence."""
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


def cut_at_word(text: str, limit: int) -> int:
    """Largest offset <= limit that does not fall inside a jieba word (falls back to limit)."""
    best = 0
    for _, s, e in words(text[: limit + 32]):
        if e <= limit:
            best = e
        else:
            break
    return best or limit
