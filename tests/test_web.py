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


def test_a_cross_origin_post_is_refused_and_same_origin_and_clients_work(served):
    import json

    import httpx
    port = int(served.rstrip("/").rsplit(":", 1)[1])
    body = json.dumps({"data": ["NMS 是怎么工作的", "Extractive"]})
    call = served + "gradio_api/call/ask"

    def post(origin=None, kind="application/json"):
        headers = {"Content-Type": kind} | ({"Origin": origin} if origin else {})
        return httpx.post(call, content=body, headers=headers, timeout=30)
    for foreign in ("http://evil.example", "null", f"http://127.0.0.1:{port + 1}", "http://127.0.0.1.evil.example"):
        for kind in ("application/json", "text/plain"):     # text/plain: what a page may send without a preflight
            refused = post(foreign, kind)
            assert refused.status_code == 403 and "event_id" not in refused.text, (foreign, refused.text)
    assert httpx.get(served, headers={"Origin": "http://evil.example"}, timeout=30).status_code == 403
    rebound = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}", "Content-Type": "text/plain"}
    assert httpx.post(call, content=body, headers=rebound, timeout=30).status_code == 403      # DNS rebinding
    for own in (None, f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"):
        accepted = post(own)
        assert accepted.status_code == 200 and "event_id" in accepted.json(), (own, accepted.text)
    assert "[1]" in Client(served, verbose=False).predict("NMS 是怎么工作的", api_name="/ask")     # no Origin


def test_the_origin_check_accepts_the_host_a_proxy_passes_on_behind_a_login_only():
    from ui.web import SameOriginOnly
    guard = SameOriginOnly(None, "127.0.0.1", 7860, behind_login=True)
    assert guard.allows("https://chat.example.org", "chat.example.org")            # nginx: proxy_set_header Host $host
    assert guard.allows("http://box:7860", "box:7860")
    assert not guard.allows("https://evil.example", "chat.example.org") and not guard.allows("http://evil.example", "")
    assert SameOriginOnly(None, "0.0.0.0", 7860).allows("http://localhost:7860", "")
    # without a login, a page whose name was made to resolve to 127.0.0.1 (DNS rebinding) is refused
    open_guard = SameOriginOnly(None, "127.0.0.1", 7860)
    assert not open_guard.allows("http://evil.example:7860", "evil.example:7860")
    assert not open_guard.named("evil.example:7860") and open_guard.named("localhost:7860") and open_guard.named("")


@pytest.mark.parametrize("text, shown", [
    ("用 `dp[1]` 表示 [1]。", "用 `dp[1]` 表示 [[1]](#src-1)。"),                          # inline code: not a link
    ("条件 `a && b` 与 a && b", "条件 `a && b` 与 a &amp;&amp; b"),                          # code not double-escaped
    ("``x ` y[2]`` 和 `<b>` [3]", "``x ` y[2]`` 和 `<b>` [[3]](#src-3)"),                    # longer runs, HTML in code
    ("见 ```py x = 1 <b>粗</b> [1]\n下一行 <i>", "见 ```py x = 1 &lt;b&gt;粗&lt;/b&gt; [[1]](#src-1)\n下一行 &lt;i&gt;"),
    ("一个 ` 反引号 <b> [1]", "一个 ` 反引号 &lt;b&gt; [[1]](#src-1)"),                       # unmatched: literal text
    ("段 `开\n\n另段` <b>", "段 `开\n\n另段` &lt;b&gt;"),                                   # no span across paragraphs
    ("A [1]\n```js\nif (a && b[2]) {}\n```\n<b>B</b> [2]",
     "A [[1]](#src-1)\n```js\nif (a && b[2]) {}\n```\n&lt;b&gt;B&lt;/b&gt; [[2]](#src-2)"),
    ("```\n未闭合 <b>[1]</b>", "```\n未闭合 <b>[1]</b>"),                                    # a fence runs to the end
    ("  ~~~\n<x>\n~~~~\n之后 & [1]", "  ~~~\n<x>\n~~~~\n之后 &amp; [[1]](#src-1)"),
])
def test_inline_code_and_fences_are_kept_and_the_rest_escaped(text, shown):
    assert link_citations(text) == shown


def test_ask_and_practice_are_tabs_of_one_strip(settings):
    import gradio as gr
    app = build_app(Engine(settings, embedder=FakeEmbedder(), llm=FakeLLM(), log=lambda m: None))
    tabs = {b.label: b for b in app.blocks.values() if isinstance(b, gr.Tab)}
    assert set(tabs) == {"Ask", "Practice"}
    assert isinstance(tabs["Ask"].parent, gr.Tabs) and tabs["Ask"].parent is tabs["Practice"].parent
