"""Local GGUF chat model; the only module that imports llama_cpp."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

from rag.errors import IqaError


class LocalLLM:
    """One llama.cpp model, loaded once and reused across questions."""

    def __init__(self, path: Path, name: str, threads: int | None = None, n_ctx: int = 2048):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise IqaError("llama-cpp-python is not installed; run `make install`.")
        threads = threads or os.cpu_count() or 1
        try:
            # A fixed seed: the same question over the same notes gets the same answer.
            self.llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads,
                               n_threads_batch=threads, seed=1234, verbose=False)
        except Exception as e:  # llama.cpp reports a bad file as a bare ValueError
            raise IqaError(f"Model {path} could not be loaded ({e}); pass --model with a valid GGUF file.")
        self.name, self.path = name, path

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))

    def complete(self, messages: list[dict], max_tokens: int = 48) -> str:
        """One short greedy completion (query translation)."""
        out = self.llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0)
        return out["choices"][0]["message"]["content"] or ""

    def stream(self, messages: list[dict], max_tokens: int = 320, temperature: float = 0.1) -> Iterator[str]:
        """Yield text pieces as they are generated."""
        chunks = self.llama.create_chat_completion(
            messages=messages, max_tokens=max_tokens, temperature=temperature, top_p=0.9,
            repeat_penalty=1.1, stream=True)
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece


def load_llm(spec: str, cache_dir: Path, threads: int | None = None, n_ctx: int = 2048, log=print) -> LocalLLM:
    from rag.models import resolve_llm_path
    path = resolve_llm_path(spec, cache_dir, log)
    t0 = time.perf_counter()
    llm = LocalLLM(path, spec if os.sep not in spec else path.name, threads, n_ctx)
    llm.load_seconds = time.perf_counter() - t0
    return llm
