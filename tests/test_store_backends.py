"""The vector-store seam: FAISS behind VectorIndex, a registry, and a second backend in one class."""
from pathlib import Path

import numpy as np
import pytest

from rag import store as storelib
from rag import stores
from rag.errors import ConfigError
from rag.lexical import Lexical, chunk_tokens
from rag.schema import Chunk
from rag.stores import build_vector_index, load_vector_index, make_vector_index
from rag.stores import faiss_store
from rag.stores.base import VectorIndex


def _unit_rows(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class NumpyIndex(VectorIndex):
    """A whole backend in a few lines: registering it is the one other line a new backend needs."""
    kind, package, version, layout = "numpy", "numpy", np.__version__, "dense"

    def __init__(self, dim: int, size: int = 0, layout: str | None = None):
        self.rows = np.zeros((0, dim), np.float32)

    def add(self, vectors):
        self.rows = np.concatenate([self.rows, np.asarray(vectors, np.float32)])

    def search(self, vector, k):
        scores = self.rows @ np.asarray(vector, np.float32)
        return [(int(i), float(scores[i])) for i in np.argsort(-scores, kind="stable")[:k]]

    def reconstruct(self, row):
        return self.rows[row]

    def reconstruct_all(self):
        return self.rows

    @property
    def ntotal(self):
        return len(self.rows)

    @property
    def dim(self):
        return self.rows.shape[1]

    def save(self, folder: Path):
        np.save(folder / "vectors.npy", self.rows)

    @classmethod
    def load(cls, folder: Path):
        index = cls(1)
        index.rows = np.load(folder / "vectors.npy")
        return index


def test_faiss_is_exact_below_the_threshold_and_hnsw_from_it(monkeypatch):
    rows = _unit_rows(40)
    flat = build_vector_index(rows)
    assert flat.layout == "Flat" and flat.ntotal == 40 and flat.dim == 8
    assert flat.search(rows[7], 3)[0][0] == 7 and flat.search(rows[7], 3)[0][1] == pytest.approx(1.0)
    monkeypatch.setattr(faiss_store, "HNSW_FROM", 40)
    hnsw = build_vector_index(rows)
    assert hnsw.layout == "HNSW32" and hnsw.search(rows[7], 3)[0][0] == 7
    assert build_vector_index(rows, layout="Flat").layout == "Flat"       # forced, as the bench does


def test_faiss_rows_come_back_and_survive_save_and_load(tmp_path):
    rows = _unit_rows(5)
    index = build_vector_index(rows)
    assert np.allclose(index.reconstruct(3), rows[3]) and np.allclose(index.reconstruct_all(), rows)
    index.save(tmp_path)
    loaded = load_vector_index(tmp_path, "faiss")
    assert loaded.ntotal == 5 and np.allclose(loaded.reconstruct_all(), rows)
    empty = make_vector_index(dim=8)
    assert empty.ntotal == 0 and empty.search(rows[0], 5) == [] and empty.reconstruct_all().shape == (0, 8)


def test_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match="Unknown vector store 'milvus'; choose one of faiss"):
        make_vector_index("milvus", dim=8)


def test_backend_whose_package_is_missing_names_the_install_command(monkeypatch):
    monkeypatch.setitem(stores.BACKENDS, "milvus", ("rag.stores.no_such_module", "MilvusIndex", "pip install pymilvus"))
    with pytest.raises(ConfigError, match="run `pip install pymilvus`") as err:
        make_vector_index("milvus", dim=8)
    assert isinstance(err.value.__cause__, ImportError)


def test_a_registered_backend_serves_a_store_through_save_and_load(tmp_path, monkeypatch):
    monkeypatch.setitem(stores.BACKENDS, "numpy", (__name__, "NumpyIndex", "pip install numpy"))
    texts = ["特征金字塔网络融合多尺度特征。", "非极大值抑制去掉重复框。", "LoRA 用低秩矩阵微调。"]
    chunks = [Chunk(f"c{i}", "a.md", 0, len(t), 1, 1, ["a", f"问题{i}"], f"问题{i}", t) for i, t in enumerate(texts)]
    rows = _unit_rows(3)
    index = make_vector_index("numpy", dim=8)
    index.add(rows)
    store = storelib.Store(storelib.Manifest(embedder="fake", dim=8), chunks, index,
                           Lexical.build([chunk_tokens(c) for c in chunks]), [])
    storelib.save(store, tmp_path / "index")
    loaded = storelib.load(tmp_path / "index", log=pytest.fail)
    assert loaded.manifest.vector_store == "numpy" and loaded.manifest.versions["numpy"] == np.__version__
    assert isinstance(loaded.index, NumpyIndex) and loaded.dense_search(rows[2], 1)[0][0] == 2
    assert np.allclose(loaded.vector(1), rows[1]) and np.allclose(loaded.vectors(), rows)
    assert loaded.lexical.search("非极大值抑制", 1)[0][0] == 1


def test_store_vector_is_one_row_of_vectors(fake_index):
    store = storelib.load(fake_index)
    row = store.row[store.chunks[-1].id]
    assert np.array_equal(store.vector(row), store.vectors()[row])
    assert store.vector(row).shape == (store.manifest.dim,)
