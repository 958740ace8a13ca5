"""Settings: defaults < config file < environment < command-line flags.

    IQA_HOME          where the index, model cache and config.toml live (default ~/.iqa)
    IQA_INDEX         index directory (default $IQA_HOME/index)
    IQA_MODEL         GGUF path, or a built-in name: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b
    IQA_EMBED_MODEL   e5-small (built-in, offline) or a sentence-transformers path/name
    IQA_CONFIG        config file (default $IQA_HOME/config.toml)
    IQA_AUTH          USER:PASSWORD_FILE, the login of `iqa ui` (needed on any address but loopback)
    IQA_LLM_URL       an OpenAI-compatible server as the answer model (Ollama, vLLM, llama.cpp server, LM Studio)
    IQA_LLM_API_KEY   its API key (read from the environment only: never stored in the config or the index)
    IQA_STORE         vector store: faiss (default) or milvus:PATH_OR_URI
    IQA_FOLLOW_LINKS  1 = ingest follows symbolic links that lead outside the ingested folder
    IQA_THREADS       CPU threads for the embedder and the in-process model (default: all cores)
"""
from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from rag.errors import ConfigError

ENV_KEYS = {"index_dir": "IQA_INDEX", "llm_model": "IQA_MODEL", "embed_model": "IQA_EMBED_MODEL",
            "threads": "IQA_THREADS", "ui_auth": "IQA_AUTH", "llm_url": "IQA_LLM_URL", "store": "IQA_STORE",
            "follow_links": "IQA_FOLLOW_LINKS"}
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
DEFAULT_LLM = "qwen2.5-coder-1.5b"


def default_home() -> Path:
    return Path(os.environ.get("IQA_HOME") or Path.home() / ".iqa").expanduser()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    index_dir: Path | None = None
    embed_model: str = "e5-small"
    # "" = the built-in default (DEFAULT_LLM), which falls back to extractive answers if it cannot load;
    # a model named here, by IQA_MODEL or --model must load, or the command fails.
    llm_model: str = ""
    llm_backend: str = "llama_cpp"  # a key of rag.backends.BACKENDS
    # An OpenAI-compatible chat server as the answer model ("" = the in-process GGUF model); its model
    # name ("" = the server's first model) and how long to wait for it. The API key comes from the
    # environment only (IQA_LLM_API_KEY), so it is never written to a file or a log.
    llm_url: str = ""
    llm_name: str = ""
    llm_timeout: float = 60.0
    # Where the chunk vectors live: "faiss" (files in the index folder) or "milvus:PATH_OR_URI".
    store: str = "faiss"
    # Ingest follows symbolic links that resolve outside the ingested folder only when this is on.
    follow_links: bool = False
    threads: int = max(1, os.cpu_count() or 1)
    k: int = 5
    retriever: str = "hybrid"
    reranker: str = ""              # optional cross-encoder path/name; off by default (CPU cost per query)
    # English questions over Chinese notes are also searched in Chinese, translated by this model:
    # "answer" reuses the answer model (one model in memory), "" turns translation off, or name a model.
    translate_model: str = "answer"
    context_tokens: int = 220       # passage budget in the prompt: CPU prefill decides the wait (bench/RESULTS.md)
    max_tokens: int = 320
    temperature: float = 0.1
    n_ctx: int = 2048
    # The web chat's login, "USER:PASSWORD_FILE": the password is the file's first line, so it never
    # appears in a command line, the environment or this file. Required on any address but loopback.
    ui_auth: str = ""
    # Questions that may wait for the web chat's engine; more are turned away at once with "busy, try again".
    ui_queue: int = 64

    @property
    def model_spec(self) -> str:
        return self.llm_model or DEFAULT_LLM

    @property
    def model_explicit(self) -> bool:
        return bool(self.llm_model)

    @property
    def index(self) -> Path:
        return Path(self.index_dir) if self.index_dir else self.home / "index"

    @property
    def model_cache(self) -> Path:
        return self.home / "models"

    def with_overrides(self, **flags) -> "Settings":
        """Apply command-line flags; None means 'not given'."""
        given = {k: v for k, v in flags.items() if v is not None}
        return replace(self, **given)


def _base_type(hint):
    """int for `int`, `int | None` and Optional[int]; the hint itself otherwise."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next((a for a in typing.get_args(hint) if a is not type(None)), str)
    return hint


def _coerce(name: str, value):
    """A config or environment value converted to the field's declared type."""
    kind = _base_type(typing.get_type_hints(Settings).get(name, str))
    if value is None:
        return None
    if kind is Path:
        return Path(str(value)).expanduser()
    if kind is bool:
        return _boolean(name, value)
    if kind in (int, float) and isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if kind is int:
        return _whole(name, value)
    if kind is float:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {value!r}") from None
    return kind(value) if kind is str else value


def _whole(name: str, value) -> int:
    """5 from 5, 5.0 or "5"; 5.7 or "many" is an error (int() would make 5.7 a silent 5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise ValueError(f"{name} must be a whole number, not {value!r}")


RETRIEVERS = ("hybrid", "dense", "bm25")       # as rag.retrieve.RETRIEVERS
AT_LEAST_ONE = ("k", "threads", "ui_queue", "context_tokens", "max_tokens", "n_ctx")


def _check(settings: "Settings") -> None:
    """Values of the right type that no command can use: one ValueError naming the first."""
    if settings.retriever not in RETRIEVERS:
        raise ValueError(f"retriever must be one of {', '.join(RETRIEVERS)}, not {settings.retriever!r}")
    for name in AT_LEAST_ONE:
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {getattr(settings, name)!r}")
    if settings.llm_timeout <= 0:
        raise ValueError(f"llm_timeout must be a number of seconds above 0, not {settings.llm_timeout!r}")


def _boolean(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError(f"{name} must be true or false (1/0, yes/no), not {value!r}")


def load_settings(**flags) -> Settings:
    """Build settings from defaults, the config file, the environment, then flags."""
    home = default_home()
    values: dict = {}
    config_path = Path(os.environ.get("IQA_CONFIG") or home / "config.toml")
    if config_path.is_file():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"Config file {config_path} is not valid TOML ({e}); fix or delete it.") from e
        if "home" in data:
            raise ConfigError(f"Config file {config_path} sets home, but the home is where config.toml is looked "
                              f"for; remove that line and set IQA_HOME={data['home']} instead.")
        known = {f.name for f in fields(Settings)} - {"home"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Config file {config_path} has unknown keys {unknown}; known keys: {sorted(known)}.")
        values.update(data)
    for name, env in ENV_KEYS.items():
        if os.environ.get(env):
            values[name] = os.environ[env]
    try:
        settings = Settings(home=home, **{k: _coerce(k, v) for k, v in values.items()})
        _check(settings)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"Bad setting in config or environment: {e}; fix the value in {config_path} "
                          f"or the IQA_* variable.") from e
    return settings.with_overrides(**flags)
