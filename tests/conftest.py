"""Shared fixtures: every test gets its own IQA_HOME; fakes for speed, tiny real models for truth."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.backends.base import LLMBackend
from rag.config import Settings
from rag.embed import Embedder
from rag.text import normalise

DATA = Path(__file__).parent / "data"


def _find_shared() -> Path:
    """The shared corpus and questions: IQA_SHARED, else the nearest `shared/` beside the clone or above it."""
    if os.environ.get("IQA_SHARED"):
        return Path(os.environ["IQA_SHARED"])
    for folder in Path(__file__).resolve().parents[1].parents:
        if (folder / "shared" / "corpus").is_dir():
            return folder / "shared"
    return Path(__file__).resolve().parents[1].parent / "shared"


SHARED = _find_shared()
TEST_VARIABLES = {"IQA_SHARED"}      # IQA_* variables for the test run itself, kept; iqa reads none of them


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """Built-in GGUFs are assembled once per test session (about 0.5 GB each) and shared."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def iqa_home(tmp_path, monkeypatch, model_cache):
    home = tmp_path / "iqa-home"
    home.mkdir()
    (home / "models").symlink_to(model_cache)
    # Every IQA_* variable of the developer's shell is cleared by its prefix, so a new one cannot leak into
    # the tests; IQA_SHARED only says where the test data lies. A key for other tools must not reach a test.
    for var in [v for v in os.environ if v.startswith("IQA_") and v not in TEST_VARIABLES] + ["OPENAI_API_KEY"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IQA_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")          # no test may reach a model hub
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


class FakeEmbedder(Embedder):
    """Hashes character bigrams into 64 dimensions: deterministic, lexical, instant."""

    def __init__(self, name: str = "fake-bigram", dim: int = 64):
        self.name, self.dim, self.calls = name, dim, 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        s = normalise(text)
        for a, b in zip(s, s[1:]):
            v[int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.dim] += 1.0
        return v / max(np.linalg.norm(v), 1e-9)

    def embed_queries(self, texts):
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts, progress=None):
        self.calls += len(texts)
        if progress:
            progress(len(texts))
        return self.embed_queries(texts)


class FakeLLM(LLMBackend):
    """Replays a scripted answer three characters at a time; keeps every request it was sent."""

    def __init__(self, script: str = "ROIAlign 用双线性插值 [1]。", name: str = "fake-llm"):
        self.script, self.name, self.requests = script, name, []
        self.left_unread = 0            # characters of the script the engine did not ask for (it stopped early)

    @property
    def messages(self):
        return [r.messages for r in self.requests]

    def stream(self, request):
        self.requests.append(request)
        for i in range(0, len(self.script), 3):
            self.left_unread = len(self.script) - i - 3
            yield self.script[i:i + 3]
        self.left_unread = 0


@pytest.fixture
def notes(tmp_path) -> Path:
    """A writable copy of the tiny test notes."""
    target = tmp_path / "notes"
    shutil.copytree(DATA / "notes", target)
    return target


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def fake_index(tmp_path, notes, fake_embedder):
    from ingest.build import ingest
    index = tmp_path / "index"
    ingest([notes], index, fake_embedder, log=lambda m: None)
    return index


@pytest.fixture
def settings(fake_index, iqa_home) -> Settings:
    return Settings(home=iqa_home, index_dir=fake_index, embed_model="fake-bigram", translate_model="")


@pytest.fixture
def shared_corpus() -> Path:
    corpus = SHARED / "corpus"
    assert corpus.is_dir(), f"the shared corpus is expected at {corpus}: set IQA_SHARED to the folder holding corpus/"
    return corpus


@pytest.fixture(scope="session")
def real_embedder():
    from rag.embed import make_embedder
    return make_embedder("e5-small", threads=2)


@pytest.fixture(scope="session")
def notes_index(tmp_path_factory, real_embedder) -> Path:
    """A real e5-small index of tests/data/notes, built once per session; the tests only read it."""
    from ingest.build import ingest
    index = tmp_path_factory.mktemp("notes-e5") / "index"
    ingest([DATA / "notes"], index, real_embedder, log=lambda m: None)
    return index


@pytest.fixture(scope="session")
def small_llm(model_cache):
    """The real Qwen2.5-Coder-0.5B GGUF, assembled from its registry parts once per session."""
    from rag.backends import llamacpp
    path = llamacpp.resolve_llm_path("qwen2.5-coder-0.5b", model_cache, lambda m: None)
    return llamacpp.LlamaCppBackend(path, "qwen2.5-coder-0.5b", threads=2, n_ctx=2048)


@pytest.fixture(autouse=True)
def term_dictionary():
    """jieba's dictionary is process state: terms a test teaches it are forgotten after the test."""
    from rag import text as textlib
    snapshot = textlib.snapshot_dictionary()
    yield
    textlib.restore_dictionary(snapshot)


@pytest.fixture(autouse=True)
def milvus_connections():
    """A test's Milvus Lite databases are released when it ends (each lives in that test's tmp_path)."""
    yield
    import sys
    if "rag.stores.milvus_store" in sys.modules:
        sys.modules["rag.stores.milvus_store"].close_all()
