"""Answer-model backends, chosen by name from settings.

To add one: write rag/backends/NAME.py with a subclass of LLMBackend and a `load(spec, settings, log)`
function, then add one line to BACKENDS. An optional dependency is imported inside that file, so a
missing package fails with its install hint only when the backend is chosen.
"""
from __future__ import annotations

import importlib

from rag.backends.base import LLMBackend, Request
from rag.errors import ConfigError

# name -> module holding load(spec, settings, log) -> LLMBackend
BACKENDS = {
    "llama_cpp": "rag.backends.llamacpp",
    "extractive": "rag.backends.extractive",
    "openai": "rag.backends.openai_api",       # chosen whenever llm_url is set
}

__all__ = ["BACKENDS", "LLMBackend", "Request", "load_backend", "ModelPool"]


def load_backend(kind: str, spec: str, settings, log=print) -> LLMBackend:
    """The backend `kind` with model `spec`; raises ModelUnavailable when it cannot be loaded."""
    if kind not in BACKENDS:
        raise ConfigError(f"Unknown model backend {kind!r}; set llm_backend to one of {', '.join(sorted(BACKENDS))}.")
    return importlib.import_module(BACKENDS[kind]).load(spec, settings, log)


from rag.backends.pool import ModelPool  # noqa: E402  (pool uses load_backend)
