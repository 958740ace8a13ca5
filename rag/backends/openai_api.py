"""Any OpenAI-compatible chat server as the answer model; the only module that imports openai.

    Ollama              http://localhost:11434/v1
    vLLM                http://HOST:8000/v1
    llama.cpp server    http://HOST:8080/v1    (llama.cpp's llama-server, or `python -m llama_cpp.server`)
    LM Studio           http://localhost:1234/v1

A URL with no path gets /v1 (http://localhost:11434 -> http://localhost:11434/v1); a URL with a path is
used as given. The model is llm_name, or the first model the server lists at /v1/models.

The API key is read from IQA_LLM_API_KEY only (OPENAI_API_KEY, often set for other tools, is sent only
to OpenAI's own api.openai.com, never to another server) and blanked out of anything the server says
back, so it never reaches an answer, a log or JSON. Every failure (server down, no answer within
llm_timeout, an HTTP error, a stream cut off) becomes one ModelUnavailable sentence; the engine then
answers extractively with that sentence as the notice.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from rag.backends.base import LLMBackend, Request
from rag.errors import ConfigError, ModelUnavailable

try:
    import httpx        # what the openai client speaks through: a cut stream raises its errors
    import openai
except ImportError as e:  # the dependency is declared; a broken environment gets the fix, not a traceback
    raise ModelUnavailable("The openai package is not installed; run `make install`.") from e

API_PATH = "/v1"
KEY_VARIABLE = "IQA_LLM_API_KEY"
OPENAI_KEY_VARIABLE, OPENAI_HOST = "OPENAI_API_KEY", "api.openai.com"     # that key goes to that host only
NO_KEY = "none"             # the client requires some key; local servers ignore it
SEED = 1234                 # as the in-process model: the same question gets the same answer where servers honour it
# After a failure, calls fail at once for this long: a question that already waited for a dead server
# (translating the query) does not wait a second time for its answer.
FAILURE_HOLD_S = 5.0
# Answers the web chat lets run at once against a server: servers that batch (vLLM, llama-server
# --parallel N) write them together; one that serialises queues them itself.
PARALLEL = 8


def api_root(url: str) -> str:
    """The API base for a server URL: a URL without a path gets /v1; query and fragment are dropped."""
    parts = urlsplit(url.strip())
    try:
        parts.port      # raises on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"llm_url must be an http(s) URL such as http://localhost:11434/v1, not {shown(url)!r}.")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") or API_PATH, "", ""))


def shown(url: str) -> str:
    """The URL as messages show it: without a user:password@ part."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def api_key(url: str) -> str:
    """The key to send to the server at url: IQA_LLM_API_KEY, else OPENAI_API_KEY for https://api.openai.com only.

        api_key("http://127.0.0.1:8080/v1") -> ""   (with only OPENAI_API_KEY set)
    """
    if os.environ.get(KEY_VARIABLE):
        return os.environ[KEY_VARIABLE]
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".").lower()
    return os.environ.get(OPENAI_KEY_VARIABLE, "") if host == OPENAI_HOST and parts.scheme == "https" else ""


class OpenAIBackend(LLMBackend):
    """Chat completions streamed from a server; nothing is sent until the first question."""
    parallel = PARALLEL

    def __init__(self, url: str, model: str = "", timeout: float = 60.0, n_ctx: int = 2048):
        self.url, self.model, self.timeout = api_root(url), model, timeout
        # The server's context is not reported by every server: n_ctx (a setting) bounds the prompt.
        self.n_ctx = n_ctx
        self._key = api_key(self.url)
        # No retries: a retry would multiply the wait the user sees before the extractive answer.
        self.client = openai.OpenAI(base_url=self.url, api_key=self._key or NO_KEY, timeout=timeout, max_retries=0)
        self._failed: tuple[float, str] = (0.0, "")     # (when, sentence) of the last failure

    @property
    def name(self) -> str:
        return f"{self.model} @ {shown(self.url)}" if self.model else shown(self.url)

    def stream(self, request: Request) -> Iterator[str]:
        self._hold()
        with self._speaking():
            chunks = self.client.chat.completions.create(
                model=self._model(), messages=request.messages, max_tokens=request.max_tokens,
                temperature=request.temperature, top_p=0.9, seed=SEED, stream=True)
        try:
            with self._speaking(answering=True):
                for chunk in chunks:
                    piece = chunk.choices[0].delta.content if chunk.choices else None
                    if piece:
                        yield piece
        finally:
            chunks.close()      # stopped early (a repeated sentence): the server stops writing too

    def complete(self, messages: list[dict], max_tokens: int = 48) -> str:
        """A short completion (query translation); '' when the server fails: the question is then searched
        as asked, and the answer that follows reports the failure."""
        try:
            return "".join(self.stream(Request("", [], messages=messages, max_tokens=max_tokens, temperature=0.0)))
        except ModelUnavailable:
            return ""

    def _model(self) -> str:
        """llm_name, or the first model the server lists (asked once)."""
        if not self.model:
            listed = self.client.models.list().data
            if not listed:
                raise ModelUnavailable(f"The model server at {shown(self.url)} lists no models; pass --llm-name.")
            self.model = listed[0].id
        return self.model

    def _hold(self) -> None:
        when, why = self._failed
        if why and time.monotonic() - when < FAILURE_HOLD_S:
            raise ModelUnavailable(why)

    @contextmanager
    def _speaking(self, answering: bool = False):
        """Turns any failure of the server into one ModelUnavailable sentence, remembered for the hold;
        answering: the server had started its answer (a lost connection is then a cut-off answer)."""
        try:
            yield
        except (openai.APIError, httpx.HTTPError) as e:
            why = self._sentence(e, answering)
            self._failed = (time.monotonic(), why)
            raise ModelUnavailable(why) from e
        self._failed = (0.0, "")

    def _sentence(self, error: Exception, answering: bool) -> str:
        where = f"The model server at {shown(self.url)}"
        if isinstance(error, (openai.APITimeoutError, httpx.TimeoutException)):
            text = f"{where} did not answer within {self.timeout:g} s; check the server, or raise llm_timeout."
        elif isinstance(error, openai.APIStatusError):
            text = (f"{where} answered HTTP {error.status_code} ({_brief(error.message)}); check --llm-name, "
                    f"IQA_LLM_API_KEY and the server's log.")
        elif isinstance(error, openai.APIConnectionError) and not answering:
            text = f"{where} cannot be reached ({_brief(str(error.__cause__ or error))}); start it, or fix --llm-url."
        else:
            text = f"{where} stopped answering ({_brief(str(error) or type(error).__name__)}); check the server's log."
        return text.replace(self._key, "[API key]") if len(self._key) >= 4 else text


def _brief(message: str, limit: int = 160) -> str:
    """A server's message as one short clause: first line, no trailing full stop, bounded."""
    line = (message or "").strip().splitlines()[0] if (message or "").strip() else "no details"
    return line.rstrip(". ")[:limit]


def load(spec: str, settings, log=print) -> OpenAIBackend:
    """spec is the server URL (settings.llm_url); nothing is sent until the first question."""
    return OpenAIBackend(spec or settings.llm_url, settings.llm_name, settings.llm_timeout, settings.n_ctx)
