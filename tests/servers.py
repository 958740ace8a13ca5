"""Real servers for tests and benches, each on a free localhost port and always stopped:

    with LlamaServer(gguf, alias="tiny") as server:   # llama.cpp's OpenAI-compatible server (llama-cpp-python[server])
        server.url                                    # http://127.0.0.1:PORT/v1
    with SilentServer() as server: ...                # accepts connections and never answers: a server too slow to wait for
    with CutOffServer() as server: ...                # starts a streamed answer, then hangs up mid-answer
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

STARTUP_S = 180         # loading the 0.5B model takes seconds; a busy machine can take much longer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` serving one GGUF under an alias; started on enter, stopped on exit.

    interrupt_requests is off: by default that server cuts the answer it is streaming short as soon as
    another request arrives, which would truncate answers whenever two users ask at once. It answers
    one request at a time (one lock around its single model), whatever the number of clients.
    """

    def __init__(self, model: Path, alias: str = "tiny", threads: int = 2, api_key: str = "", n_ctx: int = 2048):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
                        "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx),
                        "--n_threads", str(threads), "--n_threads_batch", str(threads),
                        "--interrupt_requests", "False"] + (["--api_key", api_key] if api_key else [])
        self.api_key, self.process, self.log = api_key, None, None

    def __enter__(self) -> "LlamaServer":
        self.log = tempfile.NamedTemporaryFile("w+", prefix="llama-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        request = urllib.request.Request(self.url + "/models", headers={"Authorization": f"Bearer {self.api_key}"})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if json.load(response)["data"]:
                        return
            except (OSError, urllib.error.URLError, ValueError):
                time.sleep(0.5)
        raise RuntimeError(f"llama_cpp.server did not answer within {STARTUP_S} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:]) if self.log else ""

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self.log:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


class _SocketServer:
    """Accepts connections on a free localhost port in a thread; `serve(conn)` decides what each gets."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.open: list[socket.socket] = []
        self.stopped = threading.Event()

    def __enter__(self):
        self.sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.open.append(conn)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        for conn in self.open:
            conn.close()
        self.sock.close()


class SilentServer(_SocketServer):
    """Reads each request and never answers, as a server stuck on a long queue would."""

    def serve(self, conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass


class CutOffServer(_SocketServer):
    """Lists one model, then starts every streamed chat answer with `first` and hangs up in the middle."""

    def __init__(self, first: str = "ROIAlign 用"):
        super().__init__()
        self.first = first

    def serve(self, conn: socket.socket) -> None:
        request = conn.recv(65536).decode("utf-8", "replace")
        if "/models" in request.split("\r\n", 1)[0]:
            body = json.dumps({"object": "list", "data": [{"id": "cut", "object": "model", "owned_by": "test"}]})
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n{body}".encode())
        else:
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "cut",
                     "choices": [{"index": 0, "delta": {"content": self.first}, "finish_reason": None}]}
            event = f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + f"{len(event):x}\r\n".encode() + event + b"\r\n")
            time.sleep(0.2)
        conn.close()        # mid-stream for a chat answer: no final chunk, no [DONE]
