"""The answer model behind an OpenAI-compatible server: llama.cpp's own server started on a free localhost
port (tests/servers.py), servers that are down, silent or hang up mid-answer, and the web chat serving
several users at once."""
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from rag.backends.openai_api import api_root
from rag import render
from rag.engine import Engine
from rag.errors import ConfigError
from tests.conftest import FakeEmbedder, FakeLLM
from tests.servers import CutOffServer, LlamaServer, SilentServer, free_port
from ui.cli import main
from ui.web import launch

KEY = "sk-iqa-test-9f3c1e7a5b"          # a marker: it must never show up in anything iqa prints
QUESTION = "ROIAlign 和 ROIPool 有什么区别？"


@pytest.fixture
def covered(monkeypatch):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)


def _server_engine(settings, url, **changes):
    from dataclasses import replace
    return Engine(replace(settings, llm_url=url, **changes), embedder=FakeEmbedder(), log=lambda m: None)


# ---- the base URL ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url, root", [
    ("http://localhost:11434", "http://localhost:11434/v1"),            # Ollama without /v1
    ("http://localhost:11434/v1/", "http://localhost:11434/v1"),
    ("http://gpu-box:8000/v1", "http://gpu-box:8000/v1"),              # vLLM
    ("https://example.com/openai/v1?x=1", "https://example.com/openai/v1"),
])
def test_a_server_url_becomes_its_api_root(url, root):
    assert api_root(url) == root


def test_a_url_that_is_not_http_is_a_config_error_without_its_password(fake_index, capsys):
    with pytest.raises(ConfigError, match="must be an http"):
        api_root("localhost:11434")
    code = main(["ask", "NMS", "--index", str(fake_index), "--llm-url", "ftp://bob:hunter2@host/v1"])
    err = capsys.readouterr().err
    assert code == 3 and "llm_url must be an http(s) URL" in err and "hunter2" not in err


# ---- servers that fail: one sentence, and the notes still answer ------------------------------------

def test_a_stopped_server_gives_one_sentence_and_an_extractive_answer(settings, covered):
    url = f"http://127.0.0.1:{free_port()}/v1"          # nothing listens there
    answer = _server_engine(settings, url).ask(QUESTION)
    assert answer.mode == "extractive" and answer.citations and answer.citations[0].chunk.source == "detection.md"
    assert answer.notice.startswith(f"Extractive answer: The model server at {url} cannot be reached (")
    assert answer.notice.endswith("; start it, or fix --llm-url.") and answer.notice.count(". ") == 0


def test_a_server_that_never_answers_ends_in_an_extractive_answer_within_the_timeout(settings, covered):
    # An English question over Chinese notes asks the server twice (translation, then the answer):
    # the second call must not wait again.
    with SilentServer() as server:
        engine = _server_engine(settings, server.url, llm_name="any", llm_timeout=2.0, translate_model="answer")
        started = time.monotonic()
        answer = engine.ask("Why does ROIAlign use bilinear interpolation instead of rounding?")
        elapsed = time.monotonic() - started
    assert answer.mode == "extractive" and answer.citations
    assert "did not answer within 2 s; check the server, or raise llm_timeout." in answer.notice
    assert 2.0 <= elapsed < 3.5


def test_a_server_that_hangs_up_mid_answer_ends_in_an_extractive_answer(settings, covered):
    with CutOffServer(first="ROIAlign 用") as server:
        events = list(_server_engine(settings, server.url).ask_stream(QUESTION))
    streamed = "".join(v for k, v in events if k == "token")
    answer = events[-1][1]
    assert streamed == render.marked_text(answer) and "ROIAlign 用\n" not in streamed   # half a sentence never shown
    assert answer.mode == "extractive" and answer.citations and "stopped answering" in answer.notice


def test_sentences_shown_before_a_server_hangs_up_give_way_to_the_extractive_answer(settings, covered):
    first = "ROIAlign 用双线性插值 [1]。ROIPool 取整两次 [1]。它"         # two sentences, then the hang-up
    with CutOffServer(first=first) as server:
        events = list(_server_engine(settings, server.url).ask_stream(QUESTION))
    kinds = [k for k, _ in events]
    assert kinds == ["token", "replace", "answer"] and events[0][1].startswith("ROIAlign 用双线性插值 [1]。")
    assert events[1][1] == render.marked_text(events[2][1])           # the whole answer in place of what was shown
    assert events[-1][1].mode == "extractive"


# ---- llama.cpp's server with the small model -------------------------------------------------------

@pytest.fixture(scope="module")
def llama_server(model_cache):
    from rag.models import resolve_llm_path
    gguf = resolve_llm_path("qwen2.5-coder-0.5b", model_cache, lambda m: None)
    with LlamaServer(gguf, alias="qwen-0.5b", api_key=KEY) as server:
        yield server


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setenv("IQA_LLM_API_KEY", KEY)


@pytest.mark.slow
def test_ask_through_the_llama_cpp_server_cites_the_right_passage(llama_server, notes_index, with_key, capsys):
    code = main(["ask", QUESTION, "--index", str(notes_index), "--llm-url", llama_server.url, "--json"])
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert code == 0 and answer["mode"] == "llm", err
    assert answer["model"] == f"qwen-0.5b @ {llama_server.url}" and not answer["notice"]
    assert answer["citations"] and answer["markers"]["valid"] >= 1
    for citation in answer["citations"]:         # every [n] left in the answer resolves to the ROIAlign passage
        assert citation["source"] == "detection.md" and "双线性插值" in citation["text"]
        assert f"[{citation['n']}]" in answer["answer"]
    assert KEY not in out + err


@pytest.mark.slow
def test_a_refused_api_key_is_one_sentence_and_never_shown(llama_server, notes_index, monkeypatch, capsys):
    wrong = KEY[::-1]
    monkeypatch.setenv("IQA_LLM_API_KEY", wrong)       # the server wants KEY: HTTP 401, extractive answer
    assert main(["ask", QUESTION, "--index", str(notes_index), "--llm-url", llama_server.url]) == 0
    text = capsys.readouterr()
    assert main(["ask", QUESTION, "--index", str(notes_index), "--llm-url", llama_server.url, "--json"]) == 0
    as_json = capsys.readouterr()
    notice = json.loads(as_json.out)["notice"]
    assert notice.startswith(f"Extractive answer: The model server at {llama_server.url} answered HTTP 401 (")
    assert "answered HTTP 401" in text.out and "[1]" in text.out
    for printed in (text.out, text.err, as_json.out, as_json.err):
        assert KEY not in printed and wrong not in printed


@pytest.mark.slow
def test_the_answer_eval_runs_through_the_server(llama_server, notes_index, with_key, tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "t1", "question": QUESTION, "source": "detection.md",
                                     "anchors": ["双线性插值"]}, ensure_ascii=False), encoding="utf-8")
    code = main(["eval", str(questions), "--index", str(notes_index), "--retriever", "hybrid", "--answers", "1",
                 "--llm-url", llama_server.url, "--json", str(tmp_path / "m.json")])
    out = capsys.readouterr().out
    answers = json.loads((tmp_path / "m.json").read_text())["answers"]
    assert code == 0 and answers["model"] == f"qwen-0.5b @ {llama_server.url}"
    assert answers["n"] == 1 and answers["relevant_citation"] == 1.0 and "| relevant_citation | 1.0 |" in out
    assert KEY not in out + (tmp_path / "m.json").read_text()


# ---- many users in the web chat ---------------------------------------------------------------------

class SlowLLM(FakeLLM):
    """Takes `seconds` per answer and counts the answers in flight; `parallel` as its backend declares it."""

    def __init__(self, seconds: float, parallel: int):
        super().__init__("ROIAlign 用双线性插值 [1]。")
        self.seconds, self.parallel = seconds, parallel
        self.in_flight, self.most_in_flight, self.count = 0, 0, threading.Lock()

    def stream(self, request):
        with self.count:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self.count:
            self.in_flight -= 1
        yield from super().stream(request)


def _serve(settings, llm):
    engine = Engine(settings, embedder=FakeEmbedder(), llm=llm, log=lambda m: None)
    port = free_port()
    return launch(engine, port=port, block=False), f"http://127.0.0.1:{port}/"


def test_answers_from_a_batching_server_run_at_once(settings, covered):
    llm = SlowLLM(seconds=1.5, parallel=3)
    app, url = _serve(settings, llm)
    try:
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda q: Client(url, verbose=False).predict(q, api_name="/ask"), [QUESTION] * 3))
    finally:
        app.close()
    assert all(a.startswith("ROIAlign 用双线性插值 [1]。") for a in answers)
    assert llm.most_in_flight == 3


def test_with_an_in_process_model_questions_queue_and_see_their_place(settings, covered):
    llm = SlowLLM(seconds=1.5, parallel=1)
    app, url = _serve(settings, llm)
    try:
        jobs = [Client(url, verbose=False).submit(QUESTION, api_name="/ask") for _ in range(3)]
        time.sleep(0.8)
        waiting = [job.status() for job in jobs]
        answers = [job.result(timeout=60) for job in jobs]
    finally:
        app.close()
    assert all(a.startswith("ROIAlign 用双线性插值 [1]。") for a in answers) and llm.most_in_flight == 1
    queued = sorted(s.rank for s in waiting if s.code.name == "IN_QUEUE")
    assert queued == [0, 1]            # the place in line each waiting user is shown (Gradio's "queue: 1/2")


def test_the_in_process_model_and_a_server_declare_how_many_answers_they_write_at_once(settings):
    from dataclasses import replace
    assert Engine(settings, embedder=FakeEmbedder(), log=lambda m: None).models.parallel == 1
    server = Engine(replace(settings, llm_url="http://127.0.0.1:9/v1"), embedder=FakeEmbedder(), log=lambda m: None)
    assert server.models.parallel > 1
    assert server.model_name == "http://127.0.0.1:9/v1"          # the chat's header names the server, not a GGUF


def test_the_url_in_the_environment_chooses_the_server_backend(monkeypatch):
    from rag.backends.pool import ModelPool
    from rag.config import load_settings
    monkeypatch.setenv("IQA_LLM_URL", "http://localhost:11434")
    model, why = ModelPool(load_settings(), log=lambda m: None).answer_model()
    assert type(model).__name__ == "OpenAIBackend" and model.url == "http://localhost:11434/v1" and not why
