"""Gradio chat over an Engine; the only module that imports gradio.

    app = build_app(engine)     # builds the interface, starts nothing (tests use this)
    launch(engine, port=7860)   # builds and serves on localhost
    launch(engine, host="0.0.0.0", auth=read_login("alice:/etc/iqa/password"))   # shared: login required

The login covers the page, the chat and the /ask API alike (Gradio's auth). Questions wait in one
bounded queue (settings.ui_queue); beyond it a question is turned away at once: gradio_client raises
"Queue is full! Please try again." and the browser shows "This application is currently busy. Please
try again.".

The in-process model writes one answer at a time: the others wait in that queue and each waiting user
sees their place ("queue: 2/5"). A model server (--llm-url) takes engine.models.parallel answers at once.
"""
from __future__ import annotations

import html
import ipaddress
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no calls home from an offline tool

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from rag import render  # noqa: E402
from rag.errors import InputError  # noqa: E402
from ui.practice_tab import practice_tab  # noqa: E402

EXAMPLES = ["ROIAlign vs ROIPool?", "BN训练和推理有啥区别", "Why does Focal Loss down-weight easy examples?",
            "LoRA 的 rank 和 alpha 怎么设？"]
MAX_MESSAGE_CHARS = 20_000
UPLOAD_LIMIT = "1kb"        # the chat takes no files: Gradio's upload route refuses anything larger
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
    """Note and model text for the chat: HTML shown as text, [n] -> a link to source n, code left alone.

        link_citations("`dp[1]` 与 a && b [1]") -> "`dp[1]` 与 a &amp;&amp; b [[1]](#src-1)"
    Code (fenced blocks and inline spans, found as Markdown finds them) is kept as written: the chat's
    Markdown shows it literally. Everything else is escaped.
    """
    return "".join(part if is_code else CITATION.sub(_link, html.escape(part, quote=False))
                   for part, is_code in render.markdown_code(text))


def _link(m: re.Match) -> str:
    return f"[[{m.group(1)}]](#src-{m.group(1)})"


class ChatHandler:
    """Streams answers into the chat. An in-process model writes one answer at a time (it is not
    re-entrant), so questions queue and Gradio shows each waiting user its place; a model server that
    batches (engine.models.parallel > 1) writes several answers at once."""

    def __init__(self, engine):
        self.engine, self.parallel = engine, engine.models.parallel
        self.lock = threading.BoundedSemaphore(self.parallel)

    def respond(self, message, history, k, retriever, mode):
        history = list(history or [])[-HISTORY_MESSAGES:]
        message = (message or "")[:MAX_MESSAGE_CHARS]
        previous = [html.unescape(m["content"]) for m in history if m.get("role") == "user"][-HISTORY_TURNS:]
        history += [{"role": "user", "content": html.escape(message, quote=False)}, {"role": "assistant", "content": "…"}]
        yield history, render.sources_html(None), ""
        answer = None
        for kind, value in self._answer(message, k=int(k), retriever=retriever, use_llm=(mode == "LLM"),
                                        history=[p for p in previous if isinstance(p, str)]):
            if kind == "answer":
                answer = value
                break
            history[-1] = {"role": "assistant", "content": link_citations(value) if kind == "text" else html.escape(value)}
            yield history, render.sources_html(None), ""
        if answer is not None:
            history[-1] = {"role": "assistant", "content": link_citations(render.marked_text(answer))}
            yield history, render.sources_html(answer), render.code_markdown(answer)

    def _answer(self, question: str, **kw):
        """("text", growing answer) while streaming, then ("answer", Answer); ("error", sentence) on failure.

        The chat and /ask both come through here, so a failure reads the same in both.
        """
        try:
            with self.lock:
                text = ""
                for kind, value in self.engine.ask_stream(question, **kw):
                    if kind in ("token", "replace"):
                        text = value if kind == "replace" else text + value
                        yield "text", text
                    else:
                        yield "answer", value
        except Exception as e:  # a model or index failure must reach the user as a sentence, not a stack trace
            yield "error", render.error_text(e)

    def ask(self, question: str, mode: str = "LLM") -> str:
        """The answer as Markdown with numbered sources; mode "Extractive" quotes the notes without the model."""
        use_llm = str(mode or "").strip().lower() != "extractive"
        outcome = list(self._answer(question or "", use_llm=use_llm))[-1]
        return render.answer_markdown(outcome[1]) if outcome[0] == "answer" else outcome[1]


def _header(engine) -> str:
    """Model, embedder and size of the live index, read at every page load (a re-ingest shows up)."""
    store = engine.refresh().store
    return (f"**Model:** {html.escape(engine.model_name)} · **Embedder:** {html.escape(store.manifest.embedder)} · "
            f"**Index:** {len(store.chunks)} passages")


# ---- who may connect -----------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost reach this machine only; any other address or name may be shared."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def read_login(spec: str) -> tuple[str, str]:
    """("alice", password) from "alice:PASSWORD_FILE": the password is the file's first line.

    Messages name the user and the file but never echo the rest of spec: a password typed there by
    mistake must not reach a log.
    """
    user, _, path = (spec or "").partition(":")
    file = Path(path.strip()).expanduser()
    if not user.strip() or not path.strip() or not file.is_file():
        raise InputError("The login must be USER:PASSWORD_FILE, naming an existing file whose first line is the "
                         "password; pass it as --auth alice:~/.iqa/ui-password (or set IQA_AUTH).")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"Cannot read the password file {file} ({getattr(e, 'strerror', None) or e}); "
                         f"make it readable by this user (chmod 600).") from e
    if not lines or not lines[0].strip():
        raise InputError(f"The password file {file} has an empty first line; write the password on its first line.")
    return user.strip(), lines[0]


def login_for(host: str, spec: str) -> tuple[str, str] | None:
    """The login the chat on host needs: read from spec, None on loopback without one, else InputError."""
    if spec:
        return read_login(spec)
    if not is_loopback(host):
        raise InputError(_needs_login(host))
    return None


def _needs_login(host: str) -> str:
    return (f"iqa ui on {host} can be reached from other machines, so it needs a login; pass --auth "
            f"USER:PASSWORD_FILE (or set IQA_AUTH), or serve on 127.0.0.1.")


def build_app(engine) -> gr.Blocks:
    handler = ChatHandler(engine)
    with gr.Blocks(title="iqa — interview Q&A") as app:
        gr.Markdown("## iqa · interview notes Q&A\nAnswers come only from your indexed notes, with numbered sources.")
        with gr.Tabs(elem_id="iqa-tabs"):         # one strip: Practice beside Ask, not under the chat
            with gr.Tab("Ask", elem_id="iqa-ask"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(label="Chat", height=460, elem_id="iqa-chat")
                        box = gr.Textbox(placeholder="Ask, e.g. ROIAlign vs ROIPool?", show_label=False, elem_id="iqa-input")
                        with gr.Row():
                            send = gr.Button("Ask", variant="primary", elem_id="iqa-send")
                            clear = gr.Button("New chat")
                        gr.Examples(EXAMPLES, inputs=box)
                    with gr.Column(scale=2):
                        header = gr.Markdown(_header(engine))
                        with gr.Accordion("Settings", open=False):
                            k = gr.Slider(1, 10, value=engine.settings.k, step=1, label="Passages")
                            retriever = gr.Radio(["hybrid", "dense", "bm25"], value=engine.settings.retriever, label="Retriever")
                            mode = gr.Radio(["LLM", "Extractive"], value="LLM", label="Answer mode")
                        sources = gr.HTML(render.sources_html(None), label="Sources", elem_id="iqa-sources")
                        code = gr.Markdown(elem_id="iqa-code")
            practice_tab(gr, engine)
        inputs = [box, chat, k, retriever, mode]
        outputs = [chat, sources, code]
        # Enter is also callable by gradio_client as /chat (undocumented): the soak bench drives the chat with it.
        for trigger, name in ((box.submit, "chat"), (send.click, None)):
            trigger(handler.respond, inputs, outputs, api_name=name, api_visibility="undocumented" if name else "private",
                    concurrency_id="engine", concurrency_limit=handler.parallel).then(lambda: "", None, box, api_visibility="private")
        clear.click(lambda: ([], render.sources_html(None), ""), None, outputs, api_visibility="private")
        gr.api(handler.ask, api_name="ask", concurrency_id="engine", concurrency_limit=handler.parallel)
        app.load(lambda: _header(engine), None, header, api_visibility="private")
    return app


class SameOriginOnly:
    """ASGI middleware: a request whose Origin header names another site gets 403.

    Browsers send Origin with every cross-site POST, and a text/plain POST needs no CORS preflight: without
    this any page the user visits could make the local model answer. gradio_client, curl and scripts send
    no Origin and pass; the chat page itself sends its own origin. The server's own origin is the bound
    address and port (127.0.0.1, localhost and [::1] alike for a loopback or all-interfaces address).
    Behind a login, the Host the request came to counts too (a proxy in front passes it on: nginx
    `proxy_set_header Host $host;`). Without one, a request must also name this server in its Host: a page
    whose own name was made to resolve to 127.0.0.1 (DNS rebinding) sends its name there, and is refused.
    """

    def __init__(self, app, host: str, port: int, behind_login: bool = False):
        self.app, self.port, self.behind_login = app, port, behind_login
        names = {host.strip().strip("[]").lower()}
        if is_loopback(host) or host.strip() in ("0.0.0.0", "::", ""):
            names |= {"localhost", "127.0.0.1", "::1"}
        self.own = {(name, port) for name in names}

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            origin, host = headers.get("origin"), headers.get("host", "")
            if (origin is not None and not self.allows(origin, host)) or not self.named(host):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                body = b"Cross-origin requests are refused: open the chat at its own address, or call it without an Origin header."
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def allows(self, origin: str, host_header: str) -> bool:
        """origin is this server's: the bound address (or its loopback names), or behind a login the Host asked for."""
        seen = _host_port(origin)
        if seen is None:
            return False                     # "null" (a sandboxed frame or a file:// page) and anything unparsable
        scheme, name, port = seen
        if scheme == "http" and (name, port) in self.own:
            return True
        asked = _host_port(f"{scheme}://{host_header}") if host_header and self.behind_login else None
        return asked is not None and asked[1:] == (name, port)

    def named(self, host_header: str) -> bool:
        """Without a login the Host must name this server (or be absent, as from some scripts)."""
        if self.behind_login or not host_header:
            return True
        asked = _host_port(f"http://{host_header}")
        return asked is not None and asked[1:] in self.own


def _host_port(url: str) -> tuple[str, str, int] | None:
    """("http", "localhost", 7860) from "http://LOCALHOST:7860"; a missing port is the scheme's default."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def launch(engine, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
           auth: tuple[str, str] | None = None) -> gr.Blocks:
    """Serve the chat; with block=False return the running app (tests close it with app.close()).

    auth (user, password) puts the page, the chat and /ask behind one login; an address other machines
    can reach is refused without it. Questions beyond settings.ui_queue waiting are turned away at once.
    A request carrying another site's Origin is refused (SameOriginOnly).
    """
    if auth is None and not is_loopback(host):
        raise InputError(_needs_login(host))
    app = build_app(engine)
    app.queue(default_concurrency_limit=1, max_size=max(1, engine.settings.ui_queue))
    if block:
        who = f", login as {auth[0]}" if auth else ""
        print(f"iqa chat on http://{host}:{port}  (Ctrl+C to stop{who})")
    app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=True, auth=auth,
               auth_message="Log in with the user and password given to `iqa ui --auth`.",
               head=f"<script>{CLICK_JS}</script>", css=CSS, footer_links=["api"], max_file_size=UPLOAD_LIMIT,
               app_kwargs={"middleware": [Middleware(SameOriginOnly, host=host, port=port, behind_login=auth is not None)]})
    return app
