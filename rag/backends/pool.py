"""Models loaded once per process and shared: the answer model also translates queries by default.

A model named explicitly (--model, IQA_MODEL, config) that cannot load is an error; the built-in
default that cannot load (parts not installed) falls back to extractive answers with a notice.
"""
from __future__ import annotations

import importlib

from rag.backends import BACKENDS, load_backend
from rag.backends.base import LLMBackend
from rag.errors import ModelUnavailable

SAME_AS_ANSWER = "answer"       # translate_model value: reuse the answer model (one model in memory)
# Backends --model does not name: llama_cpp takes a GGUF path or built-in name, openai comes with --llm-url.
BY_OTHER_MEANS = ("llama_cpp", "openai")


class ModelPool:
    def __init__(self, settings, log=print, answer_model: LLMBackend | None = None):
        self.settings, self.log = settings, log
        self._loaded: dict[tuple[str, str], LLMBackend] = {}
        self._failed: dict[tuple[str, str], str] = {}
        self._translation_off = False
        if answer_model is not None:
            self._loaded[self._answer_key()] = answer_model

    def _answer_key(self) -> tuple[str, str]:
        if self.settings.llm_url:       # a model server answers: no GGUF is loaded
            return "openai", self.settings.llm_url
        spec = self.settings.model_spec
        if spec in BACKENDS and spec not in BY_OTHER_MEANS:     # --model NAME of a registered backend picks it
            return spec, ""
        return self.settings.llm_backend, spec

    def _get(self, key: tuple[str, str]) -> LLMBackend:
        """The model for key, loaded on first use; a failure is remembered (and raised again)."""
        if key in self._failed:
            raise ModelUnavailable(self._failed[key])
        if key not in self._loaded:
            try:
                self._loaded[key] = load_backend(key[0], key[1], self.settings, self.log)
            except ModelUnavailable as e:
                self._failed[key] = str(e)
                raise
        return self._loaded[key]

    def answer_model(self) -> tuple[LLMBackend | None, str]:
        """(model, "") or, for the default model only, (None, why it is unavailable)."""
        try:
            return self._get(self._answer_key()), ""
        except ModelUnavailable as e:
            if self.settings.model_explicit and not self.settings.llm_url:
                raise
            return None, str(e)

    def translator(self) -> LLMBackend | None:
        """The query-translation model, or None when translation is off or its model is unavailable."""
        spec = self.settings.translate_model
        if not spec:
            return None
        try:
            if spec in (SAME_AS_ANSWER, self.settings.model_spec):
                model, _ = self.answer_model()
            else:
                model = self._get(("llama_cpp", spec))
        except ModelUnavailable as e:
            model = None
            if not self._translation_off:
                self.log(f"Query translation is off: {e}")
            self._translation_off = True
        return model if model is not None and model.chat else None

    @property
    def parallel(self) -> int:
        """Answers the answer model writes at once, known without loading it: its backend module's
        PARALLEL (a model server that batches), else 1 (an in-process model is not re-entrant)."""
        model = self._loaded.get(self._answer_key())
        if model is None:
            try:
                model = importlib.import_module(BACKENDS[self._answer_key()[0]])
            except (KeyError, ModelUnavailable):
                return 1
        return max(1, int(getattr(model, "parallel", getattr(model, "PARALLEL", 1))))

    @property
    def answer_name(self) -> str:
        model = self._loaded.get(self._answer_key())
        if model is None and self.settings.llm_url:      # a server backend costs nothing to make: name it
            model = self._get(self._answer_key())
        return model.name if model else self.settings.model_spec
