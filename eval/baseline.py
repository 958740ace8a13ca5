"""The generic recipe iqa is compared with: LangChain's RecursiveCharacterTextSplitter
(500 characters, 50 overlap) over the raw files, then BM25 over jieba tokens, or the same dense model.

Dense baseline vectors see the same 160-character budget as iqa's own vectors (equal embedding
cost); they are cached under $IQA_HOME/cache so a second run costs nothing.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter
from tqdm import tqdm

from ingest import formats
from ingest.load import decode, read, walk
from rag.lexical import Lexical
from rag.text import tokenize

SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", " ", ""]


def baseline_passages(root: Path) -> list[tuple[str, str]]:
    """(source, text) of 500/50 chunks of every readable file under root."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50, separators=SEPARATORS)
    files, _ = walk(root)
    out = []
    for path in files:
        raw_file = read(path, root)
        if not hasattr(raw_file, "data"):
            continue
        text = _text_of(raw_file)
        if text:
            out += [(raw_file.source, piece) for piece in splitter.split_text(text)]
    return out


def _text_of(raw_file) -> str | None:
    """The text iqa reads from the file: PDF, Word and notebooks through their converters."""
    if formats.handles(raw_file.source):
        lines = formats.convert(raw_file.source, raw_file.data)
        return lines.text if isinstance(lines, formats.Lines) else None
    return decode(raw_file.data)[0]


class Baseline:
    def __init__(self, root: Path, embedder, cache_dir: Path, max_chars: int = 160):
        self.passages = baseline_passages(root)
        self.texts = [t for _, t in self.passages]
        self.lexical = Lexical.build([tokenize(t) for t in self.texts])
        self.embedder, self.cache_dir, self.max_chars = embedder, cache_dir, max_chars
        self._vectors = None

    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            key = hashlib.sha256("\0".join(self.texts).encode() + self.embedder.name.encode()).hexdigest()[:16]
            path = self.cache_dir / f"baseline-{key}-{self.max_chars}.npy"
            if path.is_file():
                self._vectors = np.load(path, allow_pickle=False)
            else:
                texts = [t[: self.max_chars] for t in self.texts]
                with tqdm(total=len(texts), desc="baseline embedding", unit="chunk", disable=None) as bar:
                    self._vectors = self.embedder.embed_passages(texts, progress=bar.update)
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, self._vectors, allow_pickle=False)
                tmp.replace(path)
        return self._vectors

    def search(self, query: str, k: int, retriever: str) -> list[tuple[int, float]]:
        if retriever == "bm25":
            return self.lexical.search(query, k)
        scores = self.vectors() @ self.embedder.embed_queries([query])[0]
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top]
