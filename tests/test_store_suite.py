"""One store suite over every vector backend (FAISS files, Milvus Lite), then what only Milvus has, the factory,
and the command line end to end through Milvus Lite."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ingest.build import ingest
from rag import atomic
from rag import store as storelib
from rag import stores
from rag.engine import Engine
from rag.errors import ConfigError, IndexUnavailable
from rag.lexical import Lexical, chunk_tokens
from rag.retrieve import passage_text
from rag.schema import Chunk
from rag.stores import build_vector_index, load_vector_index, make_vector_index, parse_spec
from rag.stores import faiss_store, milvus_store
from rag.stores.base import VectorIndex
from tests.conftest import FakeEmbedder, FakeLLM
from ui.cli import main

QUIET = dict(log=lambda m: None)
QUESTIONS = ["ROIAlign 和 ROIPool 有什么区别", "KV cache 为什么能加速", "LoRA 低秩", "双线性插值", "roialign"]
EDIT = "问题4:什么是Dropout\n\n训练时随机置零神经元输出。\n\n相关推荐"


@pytest.fixture(params=["faiss", "milvus"])
def spec(request, tmp_path) -> str:
    """A store spec per backend; Milvus Lite keeps its database outside the index folder, as a shared one would."""
    return "faiss" if request.param == "faiss" else f"milvus:{tmp_path / 'kb.db'}"


def _unit_rows(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _ingest(notes: Path, index: Path, spec: str, embedder=None, **kw):
    return ingest([notes], index, embedder or FakeEmbedder(), store=spec, **QUIET, **kw)


def _milvus(store) -> tuple:
    """The Milvus client and collection behind a loaded store's generation."""
    return milvus_store.client(store.index.uri), store.index.name


def _alias_target(store, index: Path) -> str:
    db, _ = _milvus(store)
    return db.describe_alias(milvus_store.prefix_of(index))["collection_name"]


# ---- the suite every backend passes ----------------------------------------------------------------

def test_rows_survive_save_and_load_and_search_by_inner_product(spec, tmp_path):
    rows = _unit_rows(30)
    index = make_vector_index(spec, dim=8, size=len(rows))
    index.add(rows)
    folder = tmp_path / "index" / "gen-1"
    folder.mkdir(parents=True)
    index.save(folder)
    loaded = load_vector_index(folder, spec)
    assert loaded.kind == parse_spec(spec)[0] and (loaded.ntotal, loaded.dim, loaded.layout) == (30, 8, "Flat")
    assert np.allclose(loaded.reconstruct_all(), rows) and np.allclose(loaded.reconstruct(17), rows[17])
    exact = np.argsort(-(rows @ rows[7]), kind="stable")[:5]
    found = loaded.search(rows[7], 5)
    assert [r for r, _ in found] == list(exact) and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in found] == pytest.approx(list((rows @ rows[7])[exact]), abs=1e-5)
    assert len(loaded.search(rows[0], 100)) == 30


def test_ingest_then_dense_and_bm25_search_through_the_store(spec, tmp_path, notes):
    index = tmp_path / "index"
    _ingest(notes, index, spec)
    store = storelib.load(index, "fake-bigram", store_spec=spec, **QUIET)
    assert store.manifest.vector_store == parse_spec(spec)[0] and store.manifest.versions[store.index.kind]
    expected = FakeEmbedder().embed_passages([passage_text(c) for c in store.chunks])
    assert np.allclose(store.vectors(), expected, atol=1e-6)
    for row in range(len(store.chunks)):
        assert store.dense_search(expected[row], 1)[0][0] == row
    bm25s_alone = Lexical.build([chunk_tokens(c) for c in store.chunks])
    for question in QUESTIONS:
        got, want = store.lexical.search(question, 5), bm25s_alone.search(question, 5)
        assert [r for r, _ in got] == [r for r, _ in want], question
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-5)


def test_an_edited_file_reingested_replaces_only_its_own_chunks(spec, tmp_path, notes):
    index = tmp_path / "index"
    first = _ingest(notes, index, spec)
    before = storelib.load(index, store_spec=spec, **QUIET)
    old = {c.id: (c.source, before.vector(before.row[c.id])) for c in before.chunks}
    assert _ingest(notes, index, spec).index == first.index          # nothing changed: the same generation
    scraped = (notes / "scraped.txt").read_text(encoding="utf-8")
    (notes / "scraped.txt").write_text(scraped.replace("相关推荐", EDIT), encoding="utf-8")
    changed = _ingest(notes, index, spec)
    assert (changed.parsed, changed.embedded, changed.chunks) == (1, 1, first.chunks + 1)
    after = storelib.load(index, store_spec=spec, **QUIET)
    new = {c.id: c.source for c in after.chunks}
    assert set(new) - set(old) and {new[i] for i in set(new) - set(old)} == {"scraped.txt"}
    assert {i for i, (source, _) in old.items() if source != "scraped.txt"} <= set(new)
    for chunk_id, (source, vector) in old.items():
        if chunk_id in new:
            assert np.allclose(after.vector(after.row[chunk_id]), vector)
    (notes / "lora.html").unlink()
    _ingest(notes, index, spec)
    final = storelib.load(index, store_spec=spec, **QUIET)
    assert {c.source for c in final.chunks} == {"detection.md", "scraped.txt"}
    assert final.index.ntotal == len(final.chunks) == final.manifest.chunks == final.lexical.size


def _edit_manifest(index: Path, change) -> None:
    path = storelib.current_folder(index) / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("mismatch, message", [
    ("embedder", "built with embedder 'fake-bigram', not 'e5-small'"),
    ("dimension", "inconsistent"),
    ("format", "damaged or not an iqa index"),
])
def test_manifest_mismatch_is_one_sentence_naming_rebuild(spec, tmp_path, notes, mismatch, message):
    index = tmp_path / "index"
    _ingest(notes, index, spec)
    if mismatch == "dimension":
        _edit_manifest(index, lambda m: m.update(dim=32))
    elif mismatch == "format":
        _edit_manifest(index, lambda m: m.update(format="someone-else v9"))
    with pytest.raises(IndexUnavailable, match=message) as err:
        storelib.load(index, "e5-small" if mismatch == "embedder" else None, store_spec=spec, **QUIET)
    assert "--rebuild" in str(err.value) and "\n" not in str(err.value)


def _fail(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("stage", ["rows", "switch"])
def test_the_switch_is_atomic_a_failed_save_leaves_the_old_generation_live(spec, tmp_path, notes, monkeypatch, stage):
    index = tmp_path / "index"
    _ingest(notes, index, spec)
    live = storelib.load(index, store_spec=spec, **QUIET)
    (notes / "extra.md").write_text("## 新问题？\n新的答案。\n", encoding="utf-8")
    target = (type(live.index), "save") if stage == "rows" else (atomic, "switch_pointer")   # Lite uses os.replace too
    with monkeypatch.context() as patch:
        patch.setattr(*target, _fail)
        with pytest.raises(IndexUnavailable, match="previous index is still live"):
            _ingest(notes, index, spec)
    assert storelib.current_folder(index) == live.folder
    again = storelib.load(index, store_spec=spec, **QUIET)
    assert [c.id for c in again.chunks] == [c.id for c in live.chunks]
    if spec.startswith("milvus"):
        assert _alias_target(again, index) == live.index.name == again.index.name
    _ingest(notes, index, spec)
    switched = storelib.load(index, store_spec=spec, **QUIET)
    assert switched.folder != live.folder and any(c.source == "extra.md" for c in switched.chunks)
    # the generation replaced stays for readers still opening it (as its Milvus collection does); a failed save's goes
    assert sorted(p.name for p in index.iterdir() if "gen-" in p.name) == sorted([live.folder.name, switched.folder.name])
    if spec.startswith("milvus"):
        db, name = _milvus(switched)
        assert _alias_target(switched, index) == name
        ours = sorted(n for n in db.list_collections() if n.startswith(milvus_store.prefix_of(index)))
        assert ours == sorted([live.index.name, name])       # the one replaced is kept, a failed save's is dropped


def test_engine_reloads_the_generation_an_ingest_switched_to(spec, tmp_path, notes, monkeypatch):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)
    index = tmp_path / "index"
    _ingest(notes, index, spec)
    settings = _settings_for(tmp_path, index, spec)
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM("Dropout 随机置零 [1]。"), log=lambda m: None)
    assert not any("Dropout" in h.chunk.question for h in engine.search("Dropout", 3, "bm25"))
    scraped = (notes / "scraped.txt").read_text(encoding="utf-8")
    (notes / "scraped.txt").write_text(scraped.replace("相关推荐", EDIT), encoding="utf-8")
    _ingest(notes, index, spec)
    hits = engine.search("什么是Dropout", 3, "hybrid")
    assert "Dropout" in hits[0].chunk.question and engine.store.folder == storelib.current_folder(index)
    answer = engine.ask("什么是Dropout", retriever="hybrid")
    assert answer.citations and answer.citations[0].chunk.source == "scraped.txt"


def _settings_for(tmp_path: Path, index: Path, spec: str):
    from rag.config import Settings
    return Settings(home=tmp_path / "iqa-home", index_dir=index, embed_model="fake-bigram", translate_model="", store=spec)


def test_store_vector_is_one_row_of_vectors(spec, tmp_path, notes):
    index = tmp_path / "index"
    _ingest(notes, index, spec)
    store = storelib.load(index, store_spec=spec, **QUIET)
    row = store.row[store.chunks[-1].id]
    assert np.array_equal(store.vector(row), store.vectors()[row])
    assert store.vector(row).shape == (store.manifest.dim,)


# ---- Milvus only: where its rows live, what breaks there ---------------------------------------------

def test_milvus_collection_holds_each_files_chunks_with_their_ids(tmp_path, notes):
    index, spec = tmp_path / "index", f"milvus:{tmp_path / 'kb.db'}"
    _ingest(notes, index, spec)
    store = storelib.load(index, store_spec=spec, **QUIET)
    db, name = _milvus(store)
    for source in {c.source for c in store.chunks}:
        rows = db.query(name, filter=f'source == "{source}"', output_fields=["row", "chunk"])
        assert sorted((r["row"], r["chunk"]) for r in rows) == [(i, c.id) for i, c in enumerate(store.chunks)
                                                                 if c.source == source]
    assert not (storelib.current_folder(index) / "bm25").exists()      # the BM25 side lives in Milvus only
    assert _alias_target(store, index) == name


def test_milvus_store_defaults_to_a_lite_file_in_the_index_folder(tmp_path, notes):
    index = tmp_path / "index"
    _ingest(notes, index, "milvus")
    store = storelib.load(index, **QUIET)                     # the default store opens what the index records
    assert store.index.uri == str((index / "milvus.db").resolve()) and store.dense_search(store.vector(0), 1)[0][0] == 0
    assert _ingest(notes, index, "faiss").index == str(store.folder)   # the default keeps the index's own store


def test_moving_an_index_between_stores_reuses_its_vectors(tmp_path, notes):
    index, spec = tmp_path / "index", f"milvus:{tmp_path / 'kb.db'}"
    first = _ingest(notes, index, "faiss")
    moved = _ingest(notes, index, spec)
    assert moved.embedded == 0 and moved.index != first.index
    assert storelib.load(index, **QUIET).manifest.vector_store == "milvus"
    faiss_again = _ingest(notes, index, "faiss", rebuild=True)
    assert faiss_again.embedded == faiss_again.chunks
    with pytest.raises(IndexUnavailable, match=r"keeps its vectors in faiss, not milvus; run `iqa ingest --store milvus"):
        storelib.load(index, store_spec=spec, **QUIET)


def _drop(store, index):
    db, name = _milvus(store)
    db.drop_collection(name)


def _foreign(store, index):
    db, name = _milvus(store)
    db.drop_collection(name)
    db.create_collection(name, dimension=store.manifest.dim)         # someone else's collection, same name


def _garbage_uri(store, index):
    (index / "garbage.db").write_text("not a database")
    path = store.folder / milvus_store.FILE
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "uri": str(index / "garbage.db")}))


def _short(store, index):
    db, name = _milvus(store)
    db.delete(name, ids=[0])


@pytest.mark.parametrize("damage, message", [(_drop, "is gone"), (_foreign, "was not written by iqa"),
                                             (_garbage_uri, "could not be opened"),
                                             (_short, r"holds \d+ rows of width 64, not the \d+")],
                         ids=["dropped", "foreign", "garbage-file", "rows-missing"])
def test_broken_milvus_store_is_one_sentence_not_a_traceback(tmp_path, notes, capsys, damage, message):
    index, spec = tmp_path / "index", f"milvus:{tmp_path / 'kb.db'}"
    _ingest(notes, index, spec)
    damage(storelib.load(index, **QUIET), index)
    milvus_store.close_all()
    with pytest.raises(IndexUnavailable, match=message) as err:
        storelib.load(index, **QUIET)
    assert "--rebuild" in str(err.value) and "\n" not in str(err.value)
    capsys.readouterr()
    assert main(["search", "ROIAlign", "--index", str(index)]) == 4
    out, errors = capsys.readouterr()
    assert out == "" and errors.count("\n") == 1 and errors.startswith("iqa: error: ") and "Traceback" not in errors


def test_an_unusable_milvus_store_fails_before_anything_is_embedded(tmp_path, notes):
    embedder = FakeEmbedder()
    with pytest.raises(IndexUnavailable, match="could not be opened") as err:
        _ingest(notes, tmp_path / "index", f"milvus:{tmp_path / 'no-such-folder' / 'kb.db'}", embedder)
    assert embedder.calls == 0 and "\n" not in str(err.value)


def test_milvus_store_names_a_lite_file_or_a_server():
    with pytest.raises(ConfigError, match="neither a Lite file ending in .db nor a server URI"):
        make_vector_index("milvus:/tmp/notes", dim=8).save(Path("/tmp/not-used/gen-1"))
    assert parse_spec("milvus:http://host:19530") == ("milvus", "http://host:19530")
    assert parse_spec("milvus:kb.db") == ("milvus", str(Path("kb.db").resolve()))


# ---- the factory ---------------------------------------------------------------------------------------

def test_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match="Unknown vector store 'qdrant'; choose one of faiss, milvus"):
        make_vector_index("qdrant", dim=8)
    with pytest.raises(ConfigError, match="takes no place"):
        make_vector_index("faiss:/tmp/x", dim=8)


def test_backend_whose_package_is_missing_names_the_install_command(monkeypatch):
    monkeypatch.setitem(stores.BACKENDS, "milvus", ("rag.stores.no_such_module", "MilvusIndex", "pip install pymilvus"))
    with pytest.raises(ConfigError, match="run `pip install pymilvus`") as err:
        make_vector_index("milvus", dim=8)
    assert isinstance(err.value.__cause__, ImportError)


def test_faiss_is_exact_below_the_threshold_and_hnsw_from_it(monkeypatch):
    rows = _unit_rows(40)
    flat = build_vector_index(rows)
    assert flat.layout == "Flat" and flat.ntotal == 40 and flat.dim == 8
    assert flat.search(rows[7], 3)[0][0] == 7 and flat.search(rows[7], 3)[0][1] == pytest.approx(1.0)
    monkeypatch.setattr(faiss_store, "HNSW_FROM", 40)
    hnsw = build_vector_index(rows)
    assert hnsw.layout == "HNSW32" and hnsw.search(rows[7], 3)[0][0] == 7
    assert build_vector_index(rows, layout="Flat").layout == "Flat"       # forced, as the bench does
    assert make_vector_index(dim=8).search(rows[0], 5) == [] and make_vector_index(dim=8).reconstruct_all().shape == (0, 8)


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


# ---- the command line through Milvus Lite -----------------------------------------------------------------

def _cli_through_milvus(tmp_path, notes, capsys, embed_model: str):
    index, spec = tmp_path / "index", f"milvus:{tmp_path / 'kb.db'}"
    assert main(["ingest", str(notes), "--index", str(index), "--store", spec, "--embed-model", embed_model]) == 0
    assert "files: 3 indexed" in capsys.readouterr().out
    assert storelib.read_manifest(index).vector_store == "milvus"
    milvus_store.close_all()                 # what a new process finds: a collection that must be loaded again
    assert main(["search", "ROIAlign 和 ROIPool 有什么区别", "--index", str(index), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and hits[0]["source"] == "detection.md" and "ROIAlign" in hits[0]["text"]
    assert main(["ask", "LoRA 是什么", "--index", str(index), "--store", spec, "--no-llm", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["sources"][0]["location"].startswith("lora.html:") and "LoRA" in answer["sources"][0]["text"]
    return index, answer


def test_cli_ingests_searches_and_answers_through_milvus_lite(tmp_path, notes, capsys, monkeypatch):
    monkeypatch.setattr("rag.embed.make_embedder", lambda name, threads=None: FakeEmbedder(name=name))
    index, _ = _cli_through_milvus(tmp_path, notes, capsys, "fake-bigram")
    milvus_store.close_all()
    # Another process opens the Lite file afresh (BM25 alone: the fake embedder exists in this process only).
    out = subprocess.run([sys.executable, "-m", "ui.cli", "search", "双线性插值", "--index", str(index), "--retriever",
                          "bm25", "--json"], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
                         env={**os.environ, "IQA_SHARED": str(tmp_path)}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["hits"][0]["source"] == "detection.md" and out.stderr == ""


@pytest.mark.slow
def test_cli_through_milvus_lite_with_the_real_embedder(tmp_path, notes, capsys):
    index, answer = _cli_through_milvus(tmp_path, notes, capsys, "e5-small")
    assert storelib.read_manifest(index).dim == 384
    assert answer["citations"] and {c["source"] for c in answer["citations"]} == {"lora.html"}   # covered: answered
