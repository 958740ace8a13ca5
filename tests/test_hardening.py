"""A shared server, a live index and a full disk: the login, reloading between questions, ENOSPC."""
import errno
import hashlib
import re
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError
from gradio_client.utils import QueueError

from ingest.build import ingest
from rag import store as storelib
from rag import text as textlib
from rag.config import load_settings
from rag.engine import Engine
from rag.errors import IndexUnavailable, InputError
from rag.stores.faiss_store import FaissIndex
from tests.conftest import FakeEmbedder, FakeLLM
from tests.servers import free_port
from ui.cli import main
from ui.web import launch, login_for, read_login

PASSWORD = "correct-horse-7Q"          # the secret that must never show up anywhere but its file
QUIET = dict(log=lambda m: None)


@pytest.fixture
def password_file(tmp_path) -> Path:
    path = tmp_path / "ui-password"
    path.write_text(PASSWORD + "\nsecond line is ignored\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def covered(monkeypatch):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)


# ---- a shared server needs a login ---------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "iqa.example.org"])
def test_a_shared_address_without_a_login_is_refused_before_anything_loads(host, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IQA_AUTH", raising=False)
    monkeypatch.setattr("ui.web.launch", lambda *a, **kw: pytest.fail("the chat must not be served"))
    code = main(["ui", "--index", str(tmp_path / "no-index"), "--host", host])
    err = capsys.readouterr().err
    # 2 (a flag to fix), not 4 (no index): the refusal comes before the index is even read.
    assert code == 2 and err.count("\n") == 1
    assert f"iqa ui on {host} can be reached from other machines, so it needs a login" in err
    assert "pass --auth USER:PASSWORD_FILE (or set IQA_AUTH), or serve on 127.0.0.1." in err


def test_launch_itself_refuses_a_shared_address_without_a_login():
    with pytest.raises(InputError, match="needs a login"):      # a script calling launch() directly is held too
        launch(None, host="0.0.0.0", block=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_login(host):
    assert login_for(host, "") is None


def test_the_login_comes_from_the_flag_the_environment_or_the_config(password_file, fake_index, iqa_home, monkeypatch):
    monkeypatch.delenv("IQA_AUTH", raising=False)
    (iqa_home / "config.toml").write_text(f'ui_auth = "carol:{password_file}"\n', encoding="utf-8")
    assert read_login(load_settings().ui_auth) == ("carol", PASSWORD)
    monkeypatch.setenv("IQA_AUTH", f"bob:{password_file}")
    assert read_login(load_settings().ui_auth) == ("bob", PASSWORD)
    served = {}
    monkeypatch.setattr("ui.web.launch", lambda engine, **kw: served.update(kw))
    argv = ["ui", "--index", str(fake_index), "--host", "0.0.0.0", "--auth", f"alice:{password_file}"]
    assert main(argv) == 0
    assert served["auth"] == ("alice", PASSWORD) and served["host"] == "0.0.0.0"    # the flag wins
    assert PASSWORD not in " ".join(argv)                                           # the process list shows a path


@pytest.mark.parametrize("spec", ["alice", "alice:", f"alice:{PASSWORD}", ":{file}", "alice:{empty}", "alice:{folder}"])
def test_a_bad_login_is_one_sentence_that_never_echoes_a_password(spec, password_file, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    spec = spec.format(file=password_file, empty=empty, folder=tmp_path)
    with pytest.raises(InputError) as err:
        read_login(spec)
    message = str(err.value)
    assert PASSWORD not in message and message.endswith(".") and ". " not in message


def test_the_login_guards_the_page_the_chat_and_ask(settings, password_file, covered, capfd):
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM("ROIAlign 用双线性插值 [1]。"), **QUIET)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    app = launch(engine, port=port, block=False, auth=read_login(f"alice:{password_file}"))
    try:
        client = Client(url, auth=("alice", PASSWORD), verbose=False)
        assert client.predict("ROIAlign 和 ROIPool 有什么区别？", api_name="/ask").startswith("ROIAlign 用双线性插值 [1]。")
        chat = client.submit("NMS 是怎么工作的？", [], 5, "hybrid", "Extractive", api_name="/chat").result(timeout=60)
        assert "NMS" in str(chat[0][-1]["content"])
        with pytest.raises(AuthenticationError):
            Client(url, verbose=False)
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("alice", "wrong"), verbose=False)
        # Raw HTTP without the session cookie: the API and the queue answer 401, the page is the login form.
        assert httpx.post(url + "gradio_api/call/ask", json={"data": ["NMS"]}, timeout=10).status_code == 401
        join = {"data": ["NMS"], "fn_index": 0, "session_hash": "s1", "trigger_id": None, "event_data": None}
        assert httpx.post(url + "gradio_api/queue/join", json=join, timeout=10).status_code == 401
        pages = [httpx.get(url, timeout=10).text,
                 httpx.get(url + "config", cookies=client.cookies, timeout=10).text]
        assert "passages" in pages[1] and all(PASSWORD not in page for page in pages)
    finally:
        app.close()
    logged = capfd.readouterr()
    assert PASSWORD not in logged.out + logged.err


class GatedLLM(FakeLLM):
    """Holds its first answer until released, so the questions behind it pile up in the queue."""

    def __init__(self):
        super().__init__("NMS 按分数保留框 [1]。")
        self.started, self.release = threading.Event(), threading.Event()

    def stream(self, request):
        self.started.set()
        self.release.wait(60)
        yield from super().stream(request)


def test_a_full_queue_turns_questions_away_at_once_with_busy_try_again(settings, covered):
    gate = GatedLLM()
    engine = Engine(replace(settings, ui_queue=2), embedder=FakeEmbedder(), llm=gate, **QUIET)
    port = free_port()
    app = launch(engine, port=port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        first = client.submit("NMS 是怎么工作的？", api_name="/ask")
        assert gate.started.wait(30)
        behind = [client.submit(f"NMS 第{i}问：怎么工作？", api_name="/ask") for i in range(4)]
        deadline = time.monotonic() + 20
        while sum(job.done() for job in behind) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        turned_away = [job for job in behind if job.done()]
        assert len(turned_away) == 2 and not gate.release.is_set()    # answered while the engine is still busy
        for job in turned_away:
            with pytest.raises(QueueError, match="Queue is full! Please try again."):
                job.result(timeout=1)
        gate.release.set()
        waiting = [job for job in behind if job not in turned_away]
        results = [job.result(timeout=60) for job in [first, *waiting]]
        assert all(re.search(r"NMS 按分数保留框 \[\d\]", r) for r in results), results   # answered whole, cited
    finally:
        gate.release.set()
        app.close()


# ---- a live index --------------------------------------------------------------------------------

class SlowLLM(FakeLLM):
    """Streams with small pauses so answers are still being written while ingest switches generations."""

    def stream(self, request):
        for piece in super().stream(request):
            time.sleep(0.002)
            yield piece


def _record_loads(monkeypatch) -> list:
    """Every Store loaded from disk, in order (the engine's and ingest's alike)."""
    loaded, real = [], storelib.load

    def recording(*args, **kwargs):
        loaded.append(real(*args, **kwargs))
        return loaded[-1]
    monkeypatch.setattr(storelib, "load", recording)
    return loaded


def _watch_stage_boundaries(monkeypatch) -> list:
    """Widen the gap between retrieval and the coverage check, and record every check that judged hits
    of another store than its own: the two stages of one answer must use one generation."""
    from rag.retrieve import Retriever
    from rag.scope import Scope
    mixed, search, covered = [], Retriever.search, Scope.covered

    def slow_search(self, *args, **kwargs):
        hits = search(self, *args, **kwargs)
        time.sleep(0.03)                   # a reload lands here now and then
        return hits

    def checked_covered(self, hits, vector, question=""):
        own = {id(c) for c in self.store.chunks}
        mixed.extend(h.chunk.source for h in hits if id(h.chunk) not in own)
        return covered(self, hits, vector, question)
    monkeypatch.setattr(Retriever, "search", slow_search)
    monkeypatch.setattr(Scope, "covered", checked_covered)
    return mixed


def _store_of(answer, stores):
    """The one loaded store every hit and citation of answer comes from (by object identity), else None."""
    chunks = [id(h.chunk) for h in answer.hits] + [id(c.chunk) for c in answer.citations]
    owners = [s for s in stores if set(chunks) <= {id(c) for c in s.chunks}]
    return owners[0] if owners else None


def _edit_notes(notes: Path, step: int) -> None:
    """Step 1 adds a note; step 2 changes one and removes another."""
    if step == 1:
        (notes / "dropout.md").write_text("## Dropout 为什么能防止过拟合？\n训练时以概率 p 随机丢弃神经元，"
                                          "迫使网络不依赖某几个特征，相当于许多子网络的集成。\n", encoding="utf-8")
    else:
        scraped = (notes / "scraped.txt").read_text(encoding="utf-8")
        (notes / "scraped.txt").write_text(scraped.replace("相关推荐", "问题4:什么是Label Smoothing\n\n"
                                                            "把 one-hot 标签的 1 换成 1-ε，其余类分到 ε。\n\n相关推荐"),
                                           encoding="utf-8")
        (notes / "lora.html").unlink()


def test_a_re_ingest_is_answered_from_between_questions_and_no_answer_mixes_generations(settings, notes, covered,
                                                                                         monkeypatch):
    loaded, mixed = _record_loads(monkeypatch), _watch_stage_boundaries(monkeypatch)
    embedder, llm = FakeEmbedder(), SlowLLM("按分数排序并保留最高分的框 [1]。")
    engine = Engine(settings, embedder=embedder, llm=llm, **QUIET)
    questions = ["NMS 是怎么工作的？", "Dropout 为什么能防止过拟合？", "ROIAlign 和 ROIPool 有什么区别？"]
    answers, errors, stop = [], [], threading.Event()

    def ask_until_stopped(offset):
        for n in range(offset, offset + 400):            # bounded in count and (below) in time
            if stop.is_set():
                return
            started = time.monotonic()
            try:
                answers.append((started, questions[n % 3], engine.ask(questions[n % 3], use_llm=n % 2 == 0)))
            except Exception as e:                       # a failed request is what this test is about
                errors.append(e)
    askers = [threading.Thread(target=ask_until_stopped, args=(i,), daemon=True) for i in range(3)]
    for t in askers:
        t.start()
    switches = []
    for step in (1, 2):
        time.sleep(0.3)
        _edit_notes(notes, step)
        ingest([notes], settings.index, FakeEmbedder(), **QUIET)
        switches.append((time.monotonic(), storelib.current_folder(settings.index).name))
    time.sleep(0.5)
    stop.set()
    for t in askers:
        t.join(timeout=30)
    assert not errors and len(answers) > 30 and not mixed
    generation = {}
    for started, question, answer in answers:
        store = _store_of(answer, loaded)
        assert store is not None, f"{question!r} was answered from two generations at once"
        generation[id(answer)] = store.folder.name
        for switched, name in switches:            # a question asked after a switch is answered from it (or later)
            assert started < switched or generation[id(answer)] >= name
        if question.startswith("Dropout") and started > switches[0][0]:
            assert answer.hits[0].chunk.source == "dropout.md"     # the new note is found
    assert {switches[-1][1]} < set(generation.values()) and len(set(generation.values())) == 3
    assert engine.embedder() is embedder and engine.models.answer_model()[0] is llm    # nothing reloaded but the index


def test_an_answer_in_progress_keeps_its_generation_while_the_next_question_reloads(settings, notes, covered,
                                                                                   monkeypatch):
    from rag.retrieve import Retriever
    mixed, search = _watch_stage_boundaries(monkeypatch), Retriever.search
    retrieved, resume = threading.Event(), threading.Event()

    def pausing_search(self, query, *args, **kwargs):
        hits = search(self, query, *args, **kwargs)
        if query.startswith("NMS"):         # the first answer stops between retrieval and the coverage check
            retrieved.set()
            resume.wait(30)
        return hits
    monkeypatch.setattr(Retriever, "search", pausing_search)
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM("按分数保留框 [1]。"), **QUIET)
    old = engine.store
    in_progress = []
    asker = threading.Thread(target=lambda: in_progress.append(engine.ask("NMS 是怎么工作的？")), daemon=True)
    asker.start()
    assert retrieved.wait(30)
    _edit_notes(notes, 1)
    ingest([notes], settings.index, FakeEmbedder(), **QUIET)
    assert engine.ask("Dropout 为什么能防止过拟合？", use_llm=False).hits[0].chunk.source == "dropout.md"
    resume.set()
    asker.join(30)
    assert engine.store is not old and not mixed
    assert _store_of(in_progress[0], [old]) is old and in_progress[0].citations


def _ingest_elsewhere(*args, **kwargs):
    """`iqa ingest` runs in its own process: its tokenizer changes are not the server's."""
    snapshot = textlib.snapshot_dictionary()
    try:
        return ingest(*args, **kwargs)
    finally:
        textlib.restore_dictionary(snapshot)


def test_a_reloaded_generation_gets_its_own_term_dictionary_and_corpus_flag(settings, notes, covered):
    (notes / "mask.md").write_text("## Mask-RCNN 是什么？\nMask-RCNN 在检测头旁加了分割分支，Mask-RCNN 用 ROIAlign。\n",
                                   encoding="utf-8")         # a term of this generation only (seen twice)
    _ingest_elsewhere([notes], settings.index, FakeEmbedder(), **QUIET)
    logs = []
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM(), log=logs.append)
    assert "mask-rcnn" in textlib.loaded_terms() and engine.live.translator.chinese_corpus
    for path in notes.iterdir():
        path.unlink()
    (notes / "english.md").write_text("## What does NMS do?\nIt keeps the best box and drops boxes that overlap it.\n",
                                      encoding="utf-8")
    _ingest_elsewhere([notes], settings.index, FakeEmbedder(), **QUIET)
    assert engine.ask("What does NMS do?", use_llm=False).citations[0].chunk.source == "english.md"
    # The old generation's terms are gone, as in a fresh process: BM25 is used as saved, not rebuilt.
    assert "mask-rcnn" not in textlib.loaded_terms() and not engine.store.lexical_rebuilt
    assert not [m for m in logs if "rebuilt in memory" in m]
    assert not engine.live.translator.chinese_corpus          # English notes now: no translation to Chinese


@pytest.mark.parametrize("damage", ["another embedder", "a damaged folder"])
def test_a_new_generation_that_cannot_serve_leaves_the_loaded_one_answering(damage, settings, notes, covered):
    logs = []
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM(), log=logs.append)
    before = engine.store
    if damage == "another embedder":
        ingest([notes], settings.index, FakeEmbedder(name="other-model", dim=32), rebuild=True, **QUIET)
    else:
        (settings.index / "gen-9").mkdir()
        (settings.index / "CURRENT").write_text("gen-9", encoding="utf-8")
    refused = storelib.current_folder(settings.index).name
    for _ in range(3):
        answer = engine.ask("NMS 是怎么工作的？", use_llm=False)
        assert _store_of(answer, [before]) is before
    assert len(logs) == 1 and logs[0].startswith(f"Still answering from {before.folder.name}: the new index {refused}")
    if damage == "another embedder":
        assert "restart `iqa ui` to use it" in logs[0]
    ingest([notes], settings.index, FakeEmbedder(), rebuild=True, **QUIET)        # a usable one follows
    assert engine.ask("NMS 是怎么工作的？", use_llm=False).citations and engine.store is not before


# ---- a full disk ---------------------------------------------------------------------------------

def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


class FillingFile:
    """A file on a disk that fills up after `room` bytes: later writes fail with ENOSPC."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data):
        if len(data) > self.room:
            self.f.write(data[: self.room])
            self.f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _faiss_out_of_room(self, folder):
    """What faiss does on a full disk (seen on a 150 KB tmpfs): part of the file, then a RuntimeError."""
    (folder / "vectors.faiss").write_bytes(b"IxF2" * 100)
    raise RuntimeError(f"Error in void faiss::write_index(const Index*, IOWriter*, int): write error in "
                       f"{folder}/vectors.faiss: 400 != 78848 (No space left on device)")


@pytest.mark.parametrize("where", ["chunks", "vectors", "terms"])
def test_a_full_disk_keeps_the_live_generation_and_says_how_much_room_it_needs(where, fake_index, notes, monkeypatch):
    before = _tree(fake_index)
    sections = [f"## 第{i}个新问题：{i} 号模型怎么训练？\n第{i}个答案：先预热 {i} 步，再用余弦退火。\n" for i in range(300)]
    (notes / "extra.md").write_text("\n".join(sections), encoding="utf-8")
    with monkeypatch.context() as patch:
        if where == "chunks":      # chunks.jsonl is cut short: the disk fills 1000 bytes into it
            def filling_open(path, mode="r", *args, **kwargs):
                f = open(path, mode, *args, **kwargs)
                return FillingFile(f, 1000) if "w" in mode else f
            patch.setattr(storelib, "open", filling_open, raising=False)
        elif where == "vectors":   # faiss's own writer: a RuntimeError, and the disk has 4 KB left
            patch.setattr(FaissIndex, "save", _faiss_out_of_room)
            usage = shutil.disk_usage
            patch.setattr(storelib.shutil, "disk_usage", lambda path: usage(path)._replace(free=4096))
        else:                      # vectors and BM25 are written, terms.json is cut short
            def half_terms(folder, terms):
                (folder / "terms.json").write_text("[", encoding="utf-8")
                raise OSError(errno.ENOSPC, "No space left on device")
            patch.setattr(storelib, "write_terms", half_terms)
        with pytest.raises(IndexUnavailable) as err:
            ingest([notes], fake_index, FakeEmbedder(), **QUIET)
    assert _tree(fake_index) == before               # live generation byte-identical, no partial files left
    message = str(err.value)
    assert message.startswith(f"The new index could not be written to {fake_index} (No space left on device; "
                              f"it needs about ")
    assert message.endswith("free there); the previous index is still live, free some space and run "
                            "`iqa ingest PATH` again.")
    needed = float(message.split("needs about ")[1].split(" MB")[0])
    ingest([notes], fake_index, FakeEmbedder(), **QUIET)       # with room again, the same generation is written
    written = storelib.current_folder(fake_index)
    actual = sum(p.stat().st_size for p in written.rglob("*") if p.is_file()) / 2**20
    assert actual <= needed <= 2 * actual + 0.1        # enough room, not a wild over-estimate


def test_a_bug_while_writing_is_not_reported_as_a_full_disk(fake_index, notes, monkeypatch):
    before = _tree(fake_index)
    (notes / "extra.md").write_text("## 新问题？\n新的答案。\n", encoding="utf-8")
    monkeypatch.setattr(FaissIndex, "save", lambda self, folder: 1 / 0)
    with pytest.raises(ZeroDivisionError):          # plenty of room: a bug stays a bug (IQA_DEBUG shows it)
        ingest([notes], fake_index, FakeEmbedder(), **QUIET)
    assert _tree(fake_index) == before
