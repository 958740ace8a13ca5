"""Incremental ingest, atomic saves, damaged or foreign indexes."""
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.build import ingest
from rag import store as storelib
from rag.errors import IqaError
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


def test_save_is_atomic_and_old_generations_are_removed(fake_index):
    live = storelib.current_folder(fake_index)
    assert (live / "manifest.json").is_file()
    assert [p.name for p in fake_index.iterdir() if p.name.startswith("gen-")] == [live.name]


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
    with pytest.raises(IqaError, match="iqa ingest --rebuild"):
        storelib.load(fake_index)


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
    assert len([p for p in fake_index.iterdir() if p.name.startswith("gen-")]) == 1
