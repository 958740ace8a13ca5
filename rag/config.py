"""Settings: defaults < config file < environment < command-line flags.

    IQA_HOME          where the index, model cache and config.toml live (default ~/.iqa)
    IQA_INDEX         index directory (default $IQA_HOME/index)
    IQA_MODEL         GGUF path, or a built-in name: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b
    IQA_EMBED_MODEL   e5-small (built-in, offline) or a sentence-transformers path/name
    IQA_CONFIG        config file (default $IQA_HOME/config.toml)
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from rag.errors import IqaError

ENV_KEYS = {"index_dir": "IQA_INDEX", "llm_model": "IQA_MODEL", "embed_model": "IQA_EMBED_MODEL",
            "threads": "IQA_THREADS"}


def default_home() -> Path:
    return Path(os.environ.get("IQA_HOME") or Path.home() / ".iqa").expanduser()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    index_dir: Path | None = None
    embed_model: str = "e5-small"
    llm_model: str = "qwen2.5-coder-1.5b"
    threads: int = max(1, os.cpu_count() or 1)
    k: int = 5
    retriever: str = "hybrid"
    reranker: str = ""              # optional cross-encoder path/name; off by default (CPU cost per query)
    # English questions over Chinese notes are also searched in Chinese, translated by this small model
    # ("" turns it off): dev English questions Recall@5 0.750 -> 1.0 for ~0.3 s a question.
    translate_model: str = "qwen2.5-coder-0.5b"
    context_tokens: int = 500       # passage budget in the prompt: CPU prefill decides the wait
    max_tokens: int = 320
    temperature: float = 0.1
    n_ctx: int = 2048

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


def _coerce(name: str, value):
    kinds = {f.name: f.type for f in fields(Settings)}
    if kinds.get(name) in ("int", int):
        return int(value)
    if kinds.get(name) in ("float", float):
        return float(value)
    if name in ("home", "index_dir"):
        return Path(str(value)).expanduser()
    return value


def load_settings(**flags) -> Settings:
    """Build settings from defaults, the config file, the environment, then flags."""
    home = default_home()
    values: dict = {}
    config_path = Path(os.environ.get("IQA_CONFIG") or home / "config.toml")
    if config_path.is_file():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise IqaError(f"Config file {config_path} is not valid TOML ({e}); fix or delete it.")
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise IqaError(f"Config file {config_path} has unknown keys {unknown}; known keys: {sorted(known)}.")
        values.update(data)
    for name, env in ENV_KEYS.items():
        if os.environ.get(env):
            values[name] = os.environ[env]
    try:
        settings = Settings(home=home, **{k: _coerce(k, v) for k, v in values.items()})
    except (TypeError, ValueError) as e:
        raise IqaError(f"Bad setting in config or environment: {e}.")
    return settings.with_overrides(**flags)
