"""The Gradio app: built without a server, then served on a free localhost port."""
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client

from rag.engine import Engine
from tests.conftest import FakeEmbedder, FakeLLM
from tests.servers import free_port
from ui.web import build_app, launch, link_citations


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture
def served(settings, monkeypatch):
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)
    engine = Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM("ROIAlign 用双线性插值 [1]。"), log=lambda m: None)
    port = free_port()
    app = launch(engine, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_app_builds_without_a_server(settings):
    app = build_app(Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM(), log=lambda m: None))
    assert "ask" in str(app.get_api_info())


def test_citations_become_links_to_sources():
    assert link_citations("A [1]，B [2]。") == "A [[1]](#src-1)，B [[2]](#src-2)。"


def test_ask_endpoint_returns_answer_with_numbered_sources(served):
    result = Client(served, verbose=False).predict("ROIAlign 和 ROIPool 有什么区别？", api_name="/ask")
    assert result.startswith("ROIAlign 用双线性插值 [1]。")
    assert "[1] detection › 1.ROIPool和ROIAlign有什么区别？ — detection.md:" in result


def test_bad_questions_come_back_as_messages(served):
    client = Client(served, verbose=False)
    assert "The question is empty" in client.predict("   ", api_name="/ask")
    assert "cut to its first 256 tokens" in client.predict("NMS " * 30_000, api_name="/ask")


def test_twenty_concurrent_asks_all_answered_memory_bounded(served):
    Client(served, verbose=False).predict("warm up NMS", api_name="/ask")
    before = rss_mb()
    questions = [f"NMS 第{i}问：NMS 是怎么工作的？" for i in range(20)]

    def ask(q):
        return Client(served, verbose=False).predict(q, api_name="/ask")
    started = time.time()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(ask, questions, timeout=120))
    assert len(answers) == 20 and all("[1]" in a for a in answers)
    assert time.time() - started < 120
    assert rss_mb() - before < 300


def test_note_html_is_shown_as_text_outside_code():
    text = '答案 <form><input type="password"></form> [1]。\n```html\n<b>x[2]</b>\n```'
    assert link_citations(text) == ('答案 &lt;form&gt;&lt;input type="password"&gt;&lt;/form&gt; [[1]](#src-1)。\n'
                                    '```html\n<b>x[2]</b>\n```')


class Exploding(FakeLLM):
    def stream(self, request):
        raise RuntimeError("llama_decode returned -1")


def test_chat_and_ask_report_a_failure_with_the_same_sentence(settings, monkeypatch):
    from ui.web import ChatHandler
    monkeypatch.setattr("rag.scope.OUT_OF_SCOPE_MARGIN", -1.0)
    handler = ChatHandler(Engine(settings, embedder=FakeEmbedder(), llm=Exploding(), log=lambda m: None))
    from_ask = handler.ask("NMS 是怎么工作的")
    history = list(handler.respond("NMS 是怎么工作的", [], 5, "hybrid", "LLM"))[-1][0]
    assert from_ask == "⚠️ Something went wrong: RuntimeError: llama_decode returned -1"
    assert history[-1]["content"] == from_ask
    assert handler.ask("   ") == "⚠️ The question is empty; type a question, e.g. iqa ask \"ROIAlign vs ROIPool?\"."
    empty = list(handler.respond("   ", [], 5, "hybrid", "LLM"))[-1][0]
    assert empty[-1]["content"] == "⚠️ The question is empty; type a question, e.g. iqa ask &quot;ROIAlign vs ROIPool?&quot;."


def test_code_blocks_keep_their_brackets():
    text = "A [1]。\n```python\nx = a[1]\n```\nB [2]。"
    assert link_citations(text) == "A [[1]](#src-1)。\n```python\nx = a[1]\n```\nB [[2]](#src-2)。"


def test_ui_on_a_busy_port_is_one_sentence(fake_index, capsys):
    from ui.cli import main
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["ui", "--index", str(fake_index), "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2 and f"Cannot serve on 127.0.0.1:{port}" in err and "pass --port with a free port" in err


def test_the_upload_route_refuses_files(served):
    import httpx
    big = {"files": ("notes.md", b"x" * 20_000_000, "text/markdown")}
    refused = httpx.post(served + "gradio_api/upload", files=big, timeout=60)
    assert refused.status_code == 413, refused.text
