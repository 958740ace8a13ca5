"""Readers during re-ingests: no search or answer fails, none is told to rebuild, each answer has one generation."""
import re
import threading

from ingest.build import ingest
from rag import store as storelib
from rag.engine import Engine
from tests.conftest import FakeEmbedder

INGESTS, SEARCHES, ASKS = 20, 200, 10
NOTE = ("## Dropout 是什么？\n训练时随机置零神经元输出，第{v}版。推理时不丢弃，第{v}版。\n\n"
        "## Dropout 的比例怎么选？\n常用 0.5，第{v}版。卷积层用得更小，第{v}版。\n")


def _versions(hits) -> set[str]:
    return {v for h in hits if h.chunk.source == "race.md" for v in re.findall(r"第(\d+)版", h.chunk.text)}


def test_searches_and_answers_during_reingests_never_fail(settings, notes, monkeypatch):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)
    (notes / "race.md").write_text(NOTE.format(v=0), encoding="utf-8")
    ingest([notes], settings.index, FakeEmbedder(), log=lambda m: None)
    logged, failures, mixed, done = [], [], [], {"searches": 0}
    resident = Engine(settings, embedder=FakeEmbedder(), log=logged.append)     # `iqa ui`: reloads on switch
    step = threading.Condition()

    def read():
        try:
            for i in range(SEARCHES):
                try:
                    # `iqa search` is a new process each time: a fresh engine loads whatever CURRENT names
                    engine = Engine(settings, embedder=FakeEmbedder(), log=logged.append) if i % 2 else resident
                    if not engine.search("Dropout 是什么", k=3):
                        failures.append(f"search {i}: no hits")
                    if i % (SEARCHES // ASKS) == 0:
                        answer = resident.ask("Dropout 的比例怎么选", use_llm=False)
                        if len(_versions(answer.hits)) != 1:
                            mixed.append(_versions(answer.hits))
                except Exception as e:                   # noqa: BLE001 - every failure is counted
                    failures.append(f"search {i}: {type(e).__name__}: {e}")
                with step:
                    done["searches"] += 1
                    step.notify_all()
        finally:
            with step:
                done["searches"] = SEARCHES
                step.notify_all()

    reader = threading.Thread(target=read)
    reader.start()
    for v in range(1, INGESTS + 1):
        with step:                                       # spread the ingests over the searches
            step.wait_for(lambda: done["searches"] >= (v - 1) * SEARCHES // INGESTS, timeout=30)
        (notes / "race.md").write_text(NOTE.format(v=v), encoding="utf-8")
        ingest([notes], settings.index, FakeEmbedder(), log=lambda m: None)
    reader.join(timeout=120)
    assert not reader.is_alive()
    assert failures == [] and mixed == []
    assert not [m for m in logged if "damaged" in m or "cannot be used" in m], logged
    assert _versions(Engine(settings, embedder=FakeEmbedder(), log=print).search("Dropout 是什么", k=3)) == {str(INGESTS)}


def test_a_reader_that_opened_the_previous_generation_still_finds_it(fake_index, notes):
    """The generation CURRENT named before a switch stays on disk; the one before it goes."""
    first = storelib.current_folder(fake_index)
    for n in range(2):
        (notes / "extra.md").write_text(f"## 新问题{n}？\n新的答案{n}。\n", encoding="utf-8")
        ingest([notes], fake_index, FakeEmbedder(), log=lambda m: None)
        if n == 0:
            second = storelib.current_folder(fake_index)
            assert first.is_dir()               # kept for a reader that read CURRENT just before the switch
    assert not first.exists() and second.is_dir() and storelib.current_folder(fake_index).is_dir()


def test_a_load_that_loses_its_generation_to_a_switch_reads_the_new_one(fake_index, notes, monkeypatch):
    """CURRENT is read once per load; a generation deleted under the reader means read CURRENT again."""
    (notes / "extra.md").write_text("## 新问题？\n新的答案。\n", encoding="utf-8")
    reads, real = [], storelib._read_generation

    def switch_first(folder, manifest, spec):
        if not reads:                  # the reader has read CURRENT; two ingests switch it and drop that folder
            reads.append(folder.name)
            for n in range(2):
                (notes / "extra.md").write_text(f"## 新问题{n}？\n新的答案{n}。\n", encoding="utf-8")
                ingest([notes], fake_index, FakeEmbedder(), log=lambda m: None)
            assert not folder.exists()
        return real(folder, manifest, spec)

    monkeypatch.setattr(storelib, "_read_generation", switch_first)
    store = storelib.load(fake_index, log=lambda m: None)
    assert store.folder == storelib.current_folder(fake_index) != fake_index / reads[0]
    assert any(c.text.startswith("新的答案1") or "新的答案1" in c.text for c in store.chunks)
