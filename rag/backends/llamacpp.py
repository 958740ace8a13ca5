"""A GGUF model run in process by llama.cpp; the only module that imports llama_cpp."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from rag.backends.base import LLMBackend, Request
from rag.errors import ModelUnavailable
from rag.models import resolve_llm_path


class LlamaCppBackend(LLMBackend):
    """One llama.cpp model, loaded once and reused across questions."""

    def __init__(self, path: Path, name: str, threads: int | None = None, n_ctx: int = 2048):
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ModelUnavailable("llama-cpp-python is not installed; run `make install`.") from e
        threads = threads or os.cpu_count() or 1
        try:
            # A fixed seed: the same question over the same notes gets the same answer.
            self.llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads,
                               n_threads_batch=threads, seed=1234, verbose=False)
        except Exception as e:  # llama.cpp reports a bad file as a bare ValueError
            raise ModelUnavailable(f"Model {path} could not be loaded ({e}); "
                                   f"pass --model with a valid GGUF file.") from e
        self.name, self.path, self.n_ctx = name, path, n_ctx

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def complete(self, messages: list[dict], max_tokens: int = 48) -> str:
        out = self.llama.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0)
        return out["choices"][0]["message"]["content"] or ""

    def stream(self, request: Request) -> Iterator[str]:
        chunks = self.llama.create_chat_completion(
            messages=request.messages, max_tokens=request.max_tokens, temperature=request.temperature,
            top_p=0.9, repeat_penalty=1.1, stream=True)
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield piece


def load(spec: str, settings, log=print) -> LlamaCppBackend:
    """A built-in model name or a GGUF path, resolved (and assembled if built-in) then loaded."""
    path = resolve_llm_path(spec, settings.model_cache, log)
    return LlamaCppBackend(path, spec if os.sep not in spec else path.name, settings.threads, settings.n_ctx)
