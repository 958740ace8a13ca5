"""Reliability, round two (issue 24): the API key's destination, long questions, settings and CLI edges."""
import socket
from dataclasses import replace

import pytest

from rag.backends.openai_api import api_key
from rag.engine import Engine
from tests.conftest import FakeEmbedder
from tests.servers import CutOffServer

OPENAI_KEY = "sk-openai-for-other-tools-4d2a"
IQA_KEY = "sk-iqa-server-key-77b1"


class RecordingServer(CutOffServer):
    """CutOffServer that keeps the Authorization header of every request it gets."""

    def __init__(self):
        super().__init__(first="ROIAlign 用双线性插值 [1]。")
        self.authorization: list[str] = []

    def serve(self, conn: socket.socket) -> None:
        head = conn.recv(65536, socket.MSG_PEEK).decode("utf-8", "replace").split("\r\n\r\n", 1)[0]
        self.authorization += [line.split(":", 1)[1].strip() for line in head.split("\r\n")
                               if line.lower().startswith("authorization:")]
        super().serve(conn)


@pytest.fixture
def covered(monkeypatch):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)


def _ask_through(settings, server) -> None:
    engine = Engine(replace(settings, llm_url=server.url), embedder=FakeEmbedder(), log=lambda m: None)
    engine.ask("ROIAlign 和 ROIPool 有什么区别？")
    assert server.authorization, "the server was never asked"


def test_the_openai_key_of_other_tools_is_not_sent_to_another_server(settings, covered, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    with RecordingServer() as server:
        _ask_through(settings, server)
    assert not any(OPENAI_KEY in header for header in server.authorization), server.authorization


def test_the_iqa_key_is_sent_to_the_server_it_is_set_for(settings, covered, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("IQA_LLM_API_KEY", IQA_KEY)
    with RecordingServer() as server:
        _ask_through(settings, server)
    assert set(server.authorization) == {f"Bearer {IQA_KEY}"}


def test_the_openai_key_goes_to_openai_only(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert api_key("https://api.openai.com/v1") == api_key("https://API.openai.com./v1") == OPENAI_KEY
    for url in ("http://127.0.0.1:9911/v1", "https://api.openai.com.evil.example/v1", "https://evil.example/api.openai.com",
                "http://api.openai.com/v1"):                                       # never without TLS
        assert api_key(url) == ""


# ---- long questions -------------------------------------------------------------------------------

PASTED_ZH = ("请详细解释ROIAlign为什么使用双线性插值而不是取整，并与ROIPool比较它们在小目标检测上的差别。" * 50)[:1990]
PASTED_EN = ("Explain in detail why ROIAlign uses bilinear interpolation instead of rounding, and how it "
             "compares to ROIPool. " * 20)[:1990]


@pytest.mark.parametrize("pasted", [PASTED_ZH, PASTED_EN])
def test_a_pasted_page_is_cut_to_a_few_hundred_tokens_with_a_notice(pasted):
    from rag.prepare import MAX_QUESTION_TOKENS, prepare
    from rag.prompt import approx_tokens
    turn = prepare(pasted)
    assert approx_tokens(turn.question) <= MAX_QUESTION_TOKENS <= 300 and approx_tokens(turn.query) <= 300
    assert turn.notices == [f"The question was cut to its first {MAX_QUESTION_TOKENS} tokens."]
    assert pasted.startswith(turn.question)


def test_a_follow_up_after_a_pasted_page_is_searched_with_a_bounded_previous_question():
    from rag.prepare import MAX_QUESTION_TOKENS, prepare
    from rag.prompt import approx_tokens
    turn = prepare("那它的代码呢？", history=[PASTED_ZH])
    assert turn.query.endswith(" 那它的代码呢？") and PASTED_ZH.startswith(turn.query.split(" ")[0][:100])
    assert approx_tokens(turn.query) <= MAX_QUESTION_TOKENS + approx_tokens("那它的代码呢？") + 1


def test_a_long_question_keeps_the_prompt_small(settings, covered):
    """What the answer model reads for a 1,990-character question stays within a few hundred tokens."""
    from tests.conftest import FakeLLM
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM(), log=lambda m: None)
    answer = engine.ask(PASTED_ZH, history=[PASTED_ZH])
    assert answer.to_dict()["timings"]["prompt_tokens"] < 700 and "cut to its first" in answer.notice


# ---- settings and the command line ------------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ('home = "/x"', "sets home, but the home is where config.toml is looked for; remove that line and set IQA_HOME=/x"),
    ("k = 5.7", "k must be a whole number, not 5.7"),
    ('k = "many"', "k must be a whole number, not 'many'"),
    ("k = 0", "k must be a whole number of at least 1, not 0"),
    ('retriever = "foo"', "retriever must be one of hybrid, dense, bm25, not 'foo'"),
    ("threads = -2", "threads must be a whole number of at least 1, not -2"),
])
def test_a_bad_config_value_is_a_config_error_with_exit_3(fake_index, iqa_home, capsys, line, message):
    from ui.cli import main
    (iqa_home / "config.toml").write_text(line + "\n", encoding="utf-8")
    code = main(["search", "NMS", "--index", str(fake_index)])
    err = capsys.readouterr().err
    assert code == 3 and message in err and "multiple values" not in err, err


def test_whole_numbers_written_as_numbers_or_text_are_read(iqa_home, monkeypatch):
    from rag.config import load_settings
    (iqa_home / "config.toml").write_text("k = 7.0\nui_queue = 3\n", encoding="utf-8")
    monkeypatch.setenv("IQA_THREADS", " 2 ")
    s = load_settings()
    assert (s.k, s.ui_queue, s.threads) == (7, 3, 2)


@pytest.mark.parametrize("k", ["-1", "0", "2.5"])
def test_k_below_one_is_refused_on_the_command_line(fake_index, capsys, k):
    from ui.cli import main
    with pytest.raises(SystemExit) as done:
        main(["search", "NMS", "--index", str(fake_index), "--k", k])
    assert done.value.code == 2 and "argument --k: must be a whole number of at least 1" in capsys.readouterr().err


def test_a_reader_that_stops_early_ends_the_output_quietly():
    """`iqa search … | head -1`: the closed pipe ends the command with status 0 and nothing on stderr."""
    import subprocess
    import sys
    from pathlib import Path
    script = ("import ui.cli as cli\n"
              "def flood(args):\n"
              "    for i in range(200_000):\n"
              "        print(f'{i} ' + 'x' * 80)\n"
              "    return 0\n"
              "cli.COMMANDS['models'] = flood\n"
              "raise SystemExit(cli.main(['models']))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout.readline().startswith(b"0 ")
    proc.stdout.close()                                  # as head -1 does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == "", err


def test_help_names_every_variable_iqa_reads(capsys):
    from rag.config import ENV_KEYS
    from ui.cli import main
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for variable in [*ENV_KEYS.values(), "IQA_HOME", "IQA_CONFIG", "IQA_LLM_API_KEY", "IQA_DEBUG"]:
        assert variable in out, variable


def test_no_iqa_variable_of_the_developer_reaches_a_test():
    import os
    leaked = {v for v in os.environ if v.startswith("IQA_")} - {"IQA_HOME", "IQA_SHARED"}
    assert not leaked and "OPENAI_API_KEY" not in os.environ


def test_variables_iqa_will_read_one_day_are_cleared_too():
    """Run the check above with variables no hand-kept list names: the conftest clears them by prefix."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = {**os.environ, "IQA_DEBUG": "1", "IQA_SOMETHING_NEW": "leak", "OPENAI_API_KEY": OPENAI_KEY}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"{__file__}::test_no_iqa_variable_of_the_developer_reaches_a_test"],
                         capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]


# ---- practice cards --------------------------------------------------------------------------------

def test_two_first_requests_after_a_new_index_both_make_their_cards(tmp_path):
    """Two tabs (or the CLI and the chat) syncing the same new cards at once: no IntegrityError, no lost card."""
    import threading

    from practice.cards import CardStore
    from practice.questions import Part, Question
    items = [Question(key=f"{i:08x}", source="a.md", heading=["a", f"q{i}"], question=f"q{i}?",
                      parts=[Part(f"答案{i}", i + 1, i + 1)]) for i in range(300)]
    failures = []
    for trial in range(3):
        path = tmp_path / f"p{trial}.sqlite"
        stores, start = [CardStore(path), CardStore(path)], threading.Barrier(2)

        def sync(store):
            start.wait()
            try:
                store.sync(items)
            except Exception as e:                       # noqa: BLE001 - every failure is counted
                failures.append(f"{type(e).__name__}: {e}")
        threads = [threading.Thread(target=sync, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(stores[0].cards()) == len(items)
    assert failures == []


# ---- assembling the built-in model ----------------------------------------------------------------

class _FailingDigest:
    """hashlib.sha256() stand-in whose update fails as a write to a full disk (or Ctrl-C) would."""

    def __init__(self, error):
        self.error = error

    def update(self, block):
        raise self.error


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_model_assembly_cut_short_leaves_no_partial_file(tmp_path, monkeypatch, error):
    import hashlib

    from rag import models
    from rag.errors import ModelUnavailable
    parts = [tmp_path / "part1.bin", tmp_path / "part2.bin"]
    for part in parts:
        part.write_bytes(b"x" * 1000)
    fake = models.PackagedModel("tiny-test", ("a", "b"), ("p1", "p2"), 2000, hashlib.sha256(b"x" * 2000).hexdigest())
    monkeypatch.setattr(models, "part_paths", lambda model: parts)
    cache = tmp_path / "cache"
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda: _FailingDigest(error))
    expected = ModelUnavailable if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        models.assemble(fake, cache, log=lambda m: None)
    if expected is ModelUnavailable:          # the default model's failure is what gives the extractive answer
        assert "could not be assembled" in str(raised.value) and "No space left on device" in str(raised.value)
    assert list(cache.iterdir()) == []        # no .tmp file of a gigabyte left behind
    monkeypatch.setattr(hashlib, "sha256", real_sha256)
    assert models.assemble(fake, cache, log=lambda m: None).read_bytes() == b"x" * 2000


# ---- query translation from several threads ------------------------------------------------------

class _Translator:
    """A chat model that translates slowly and counts how many calls overlap; the first `fail` calls fail ("")."""
    chat, parallel = True, 1

    def __init__(self, fail: int = 0):
        import threading
        self.calls, self.inside, self.most, self.fail, self.guard = 0, 0, 0, fail, threading.Lock()

    def complete(self, messages, max_tokens=48):
        import time
        with self.guard:
            self.calls += 1
            self.inside += 1
            self.most = max(self.most, self.inside)
            failing = self.calls <= self.fail
        time.sleep(0.05)
        with self.guard:
            self.inside -= 1
        return "" if failing else "非极大值抑制 如何 去掉 重复框"


QUERY = "How does non maximum suppression remove duplicate boxes?"


def test_a_failed_translation_is_tried_again():
    from rag.translate import QueryTranslator
    model = _Translator(fail=1)
    translator = QueryTranslator(lambda: model, chinese_corpus=True)
    assert translator.expand(QUERY) == QUERY                              # the server failed: searched as asked
    assert translator.expand(QUERY) == f"{QUERY} 非极大值抑制 如何 去掉 重复框"   # and asked again next time
    assert translator.expand(QUERY).endswith("重复框") and model.calls == 2    # then cached


def test_an_in_process_translator_is_called_one_thread_at_a_time():
    from concurrent.futures import ThreadPoolExecutor

    from rag.translate import QueryTranslator
    model = _Translator()
    generations = [QueryTranslator(lambda: model, chinese_corpus=True) for _ in range(2)]   # old and new index
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: generations[i % 2].expand(f"{QUERY} ({i})"), range(8)))
    assert model.calls == 8 and model.most == 1


def test_the_practice_file_records_its_schema_version_and_refuses_a_newer_one(tmp_path):
    import sqlite3

    from practice.cards import SCHEMA_VERSION, CardStore
    from rag.errors import InputError
    path = tmp_path / "practice.sqlite"
    CardStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(InputError, match="written by a newer iqa"):
        CardStore(path)
    old = tmp_path / "old.sqlite"                  # a file from before versions: tables, user_version 0
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE cards (key TEXT PRIMARY KEY, source TEXT NOT NULL, heading TEXT NOT NULL, "
                   "question TEXT NOT NULL, topic TEXT NOT NULL, fingerprint TEXT NOT NULL, position INTEGER NOT NULL, "
                   "fsrs TEXT NOT NULL, due TEXT NOT NULL, retired INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL)")
    assert CardStore(old).cards() == []
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_model_names_a_registered_backend(settings, covered, monkeypatch):
    from rag.backends import BACKENDS
    monkeypatch.setitem(BACKENDS, "first-sentence", "tests.backends.first_sentence")
    answer = Engine(replace(settings, llm_model="first-sentence"), embedder=FakeEmbedder(), log=lambda m: None).ask(
        "NMS 是怎么工作的")
    assert answer.model == "first-sentence" and answer.text.startswith("按置信度排序") and not answer.notice
    extractive = Engine(replace(settings, llm_model="extractive"), embedder=FakeEmbedder(), log=lambda m: None)
    assert extractive.ask("NMS 是怎么工作的").mode == "extractive"
