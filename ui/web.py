"""Gradio chat over an Engine; the only module that imports gradio.

    app = build_app(engine)     # builds the interface, starts nothing (tests use this)
    launch(engine, port=7860)   # builds and serves on localhost
"""
from __future__ import annotations

import html
import os
import re
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no calls home from an offline tool

import gradio as gr  # noqa: E402

from rag.errors import IqaError  # noqa: E402
from rag.prompt import FENCED  # noqa: E402

EXAMPLES = ["ROIAlign vs ROIPool?", "BN训练和推理有啥区别", "Why does Focal Loss down-weight easy examples?",
            "LoRA 的 rank 和 alpha 怎么设？"]
MAX_MESSAGE_CHARS = 20_000
HISTORY_TURNS = 3           # earlier questions used to understand a follow-up
HISTORY_MESSAGES = 20       # messages kept in the chat; older ones scroll away
CITATION = re.compile(r"\[(\d{1,2})\]")
# Clicking [n] in the answer opens and scrolls to source n in the panel.
CLICK_JS = """
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="#src-"]');
  if (!a) return;
  e.preventDefault();
  const d = document.getElementById(a.getAttribute('href').slice(1));
  if (d) { d.open = true; d.scrollIntoView({behavior: 'smooth', block: 'center'}); }
});
"""


CSS = """
.iqa-quote { white-space: pre-wrap; word-break: break-word; font-size: 0.85em; max-height: 22em; overflow: auto; }
.iqa-note { color: #9a5b00; font-size: 0.9em; }
.iqa-source summary { cursor: pointer; margin: 0.3em 0; }
"""


def link_citations(text: str) -> str:
    """[n] -> a link to source n, outside code blocks."""
    out, pos = [], 0
    for m in FENCED.finditer(text):
        out += [CITATION.sub(_link, text[pos:m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out) + CITATION.sub(_link, text[pos:])


def _link(m: re.Match) -> str:
    return f"[[{m.group(1)}]](#src-{m.group(1)})"


def sources_html(answer) -> str:
    if answer is None:
        return "<p class='iqa-empty'>Sources of the answer appear here.</p>"
    parts = []
    if answer.notice:
        parts.append(f"<p class='iqa-note'>{html.escape(answer.notice)}</p>")
    if answer.mode == "extractive":
        parts.append("<p class='iqa-note'>Extractive answer: sentences quoted from the notes, no model text.</p>")
    if answer.unsupported:
        parts.append("<p class='iqa-note'>Unsupported: the answer cites no passage; these are the passages it drew on.</p>")
    cited = [(c.n, c.chunk) for c in answer.citations] or [(h.rank, h.chunk) for h in answer.hits[:3]]
    for n, chunk in cited:
        quote = html.escape(chunk.text[:1200]) + ("…" if len(chunk.text) > 1200 else "")
        parts.append(f"<details id='src-{n}' class='iqa-source'><summary><b>[{n}]</b> {html.escape(chunk.title)}"
                     f"<br><code>{html.escape(chunk.location)}</code></summary><pre class='iqa-quote'>{quote}</pre></details>")
    return "\n".join(parts)


def code_markdown(answer) -> str:
    if answer is None or not answer.code:
        return ""
    blocks = [f"**{src}:{s.line_start}-{s.line_end}** ({s.language})\n```{s.language}\n{s.code}\n```"
              for s, src in zip(answer.code[:4], answer.code_sources[:4])]
    return "\n\n".join(blocks)


def answer_markdown(answer) -> str:
    """The final answer with its numbered sources: what the `ask` API returns."""
    lines = [answer.text, ""]
    lines += [f"[{c.n}] {c.chunk.title} — {c.chunk.location}" for c in answer.citations]
    if answer.notice:
        lines.append(f"\n_{answer.notice}_")
    return "\n".join(lines).strip()


class ChatHandler:
    """Streams answers into the chat; one engine, one answer at a time (the model is not re-entrant)."""

    def __init__(self, engine):
        self.engine, self.lock = engine, threading.Lock()

    def respond(self, message, history, k, retriever, mode):
        history = list(history or [])[-HISTORY_MESSAGES:]
        message = (message or "")[:MAX_MESSAGE_CHARS]
        previous = [m["content"] for m in history if m.get("role") == "user"][-HISTORY_TURNS:]
        history.append({"role": "user", "content": message})
        history.append({"role": "assistant", "content": "…"})
        yield history, sources_html(None), ""
        try:
            with self.lock:
                text, answer = "", None
                for kind, value in self.engine.ask_stream(message, int(k), retriever, use_llm=(mode == "LLM"),
                                                          history=[p for p in previous if isinstance(p, str)]):
                    if kind == "token":
                        text += value
                        history[-1] = {"role": "assistant", "content": text}
                        yield history, sources_html(None), ""
                    else:
                        answer = value
            history[-1] = {"role": "assistant", "content": link_citations(answer.text)}
            yield history, sources_html(answer), code_markdown(answer)
        except IqaError as e:
            history[-1] = {"role": "assistant", "content": f"⚠️ {e}"}
            yield history, sources_html(None), ""
        except Exception as e:  # a model or index failure must reach the user as text, not a stack trace
            history[-1] = {"role": "assistant", "content": f"⚠️ Something went wrong: {type(e).__name__}: {e}"}
            yield history, sources_html(None), ""

    def ask(self, question: str) -> str:
        try:
            with self.lock:
                return answer_markdown(self.engine.ask(question or ""))
        except IqaError as e:
            return f"⚠️ {e}"


def build_app(engine) -> gr.Blocks:
    handler = ChatHandler(engine)
    with gr.Blocks(title="iqa — interview Q&A") as app:
        gr.Markdown("## iqa · interview notes Q&A\nAnswers come only from your indexed notes, with numbered sources.")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, elem_id="iqa-chat")
                box = gr.Textbox(placeholder="Ask, e.g. ROIAlign vs ROIPool?", show_label=False, elem_id="iqa-input")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="iqa-send")
                    clear = gr.Button("New chat")
                gr.Examples(EXAMPLES, inputs=box)
            with gr.Column(scale=2):
                gr.Markdown(f"**Model:** `{engine.model_name}` · **Embedder:** `{engine.store.manifest.embedder}` · "
                            f"**Index:** {len(engine.store.chunks)} passages")
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 10, value=engine.settings.k, step=1, label="Passages")
                    retriever = gr.Radio(["hybrid", "dense", "bm25"], value=engine.settings.retriever, label="Retriever")
                    mode = gr.Radio(["LLM", "Extractive"], value="LLM", label="Answer mode")
                sources = gr.HTML(sources_html(None), label="Sources", elem_id="iqa-sources")
                code = gr.Markdown(elem_id="iqa-code")
        inputs = [box, chat, k, retriever, mode]
        outputs = [chat, sources, code]
        for trigger in (box.submit, send.click):
            trigger(handler.respond, inputs, outputs, api_visibility="private", concurrency_id="engine") \
                .then(lambda: "", None, box, api_visibility="private")
        clear.click(lambda: ([], sources_html(None), ""), None, outputs, api_visibility="private")
        gr.api(handler.ask, api_name="ask", concurrency_id="engine")
    return app


def launch(engine, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> gr.Blocks:
    """Serve the chat; with block=False return the running app (tests close it with app.close())."""
    app = build_app(engine)
    app.queue(default_concurrency_limit=1, max_size=64)
    if block:
        print(f"iqa chat on http://{host}:{port}  (Ctrl+C to stop)")
    app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=True,
               head=f"<script>{CLICK_JS}</script>", css=CSS, footer_links=["api"])
    return app
