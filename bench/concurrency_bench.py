"""Many users: N questions sent at once to `iqa ui`'s /ask, answered (a) through llama.cpp's
OpenAI-compatible server (`python -m llama_cpp.server`) and (b) by the same model in process.

    python bench/concurrency_bench.py                     # 10 at once, qwen2.5-coder-0.5b, 128 answer tokens
    python bench/concurrency_bench.py --clients 10 --model qwen2.5-coder-0.5b --max-tokens 128 --notes corpus

It ingests --notes once into a temporary index, then for each setup starts `python -m ui.cli ui` on a free
127.0.0.1 port (and, for the server setup, llama_cpp.server on another), asks one warm-up question,
opens --clients gradio_client clients and sends one question from each at the same moment. Printed
and written to bench/out/concurrency.json: answers by the model, extractive fallbacks and errors,
wall time, throughput (answers per minute) and p50/p95 latency from the common start.

Both setups give the model the same 2 threads. llama-cpp-python's server holds one lock around its one
model: it answers one request at a time, whatever the number of clients (the C++ llama-server has
--parallel N slots; llama-cpp-python has no such option). The web chat lets up to 8 answers run at
once against a server and queues the rest with the in-process model; this bench shows what that
changes when the server itself serialises.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"      # the client must not call home: 127.0.0.1 only

from gradio_client import Client  # noqa: E402

from common import OUT, machine, median, p95, save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rag.compose import NOT_COVERED  # noqa: E402
from rag.models import resolve_llm_path  # noqa: E402
from tests.servers import LlamaServer, free_port  # noqa: E402

ALIAS = "bench-model"
SETUPS = ("server", "in-process")


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]
    picked = [r["question"] for r in rows if r.get("kind") == "starter"][:n]
    return (picked * n)[:n]


def home_for(base: Path, max_tokens: int, threads: int) -> Path:
    """An IQA_HOME whose model cache is the user's (no second 0.5 GB copy) and whose answers are bounded."""
    home = base / "home"
    home.mkdir()
    mine = Path.home() / ".iqa" / "models"
    if mine.is_dir():
        (home / "models").symlink_to(mine)
    (home / "config.toml").write_text(f"max_tokens = {max_tokens}\nthreads = {threads}\n", encoding="utf-8")
    return home


def iqa(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], env=env, cwd=ROOT, check=True, **kw)


def start_ui(index: Path, env: dict, extra: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ui", "--index", str(index), "--port", str(port), *extra],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        if proc.poll() is not None:
            raise RuntimeError(f"iqa ui exited: {log.read_text()[-2000:]}")
        try:
            Client(url, verbose=False)
            return proc, url
        except Exception:       # not listening yet
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"iqa ui did not start: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def burst(url: str, asked: list[str]) -> dict:
    """One question from each client at the same moment; latency of each from that moment."""
    clients = [Client(url, verbose=False) for _ in asked]
    go, rows = threading.Barrier(len(asked) + 1), []

    def one(i: int) -> None:
        go.wait()
        t0 = time.perf_counter()
        text = clients[i].predict(asked[i], "LLM", api_name="/ask")
        kind = ("error" if text.startswith("⚠️") else "extractive" if "Extractive answer:" in text
                else "declined" if text.startswith(tuple(NOT_COVERED.values())) else "model")
        rows.append({"question": asked[i], "latency_s": round(time.perf_counter() - t0, 2), "answered_by": kind,
                     "answer": text[:120]})

    with ThreadPoolExecutor(len(asked)) as pool:
        futures = [pool.submit(one, i) for i in range(len(asked))]
        go.wait()
        start = time.perf_counter()
        for f in futures:
            f.result()
        wall = time.perf_counter() - start
    lat = [r["latency_s"] for r in rows]
    return {"clients": len(asked), "wall_s": round(wall, 1), "answers_per_min": round(60 * len(asked) / wall, 2),
            "p50_s": round(median(lat), 1), "p95_s": round(p95(lat), 1),
            "by_model": sum(r["answered_by"] == "model" for r in rows),
            "extractive": sum(r["answered_by"] == "extractive" for r in rows),
            "declined": sum(r["answered_by"] == "declined" for r in rows),
            "errors": sum(r["answered_by"] == "error" for r in rows), "rows": rows}


def run_setup(name: str, index: Path, env: dict, extra: list[str], asked: list[str], base: Path) -> dict:
    """asked[0] warms the model up (not timed: a repeated prompt would be answered from the prompt cache)."""
    proc, url = start_ui(index, env, extra, base / f"{name}.ui.log")
    try:
        Client(url, verbose=False).predict(asked[0], "LLM", api_name="/ask")      # warm-up: load the model
        load_before = os.getloadavg()[0]
        return {"setup": name, **burst(url, asked[1:]), "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)]}
    finally:
        stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--notes", type=Path, default=ROOT / "corpus")
    ap.add_argument("--threads", type=int, default=2, help="threads of the model, in the server and in process alike")
    ap.add_argument("--setups", default=",".join(SETUPS), help="which setups, in this order (default server,in-process)")
    args = ap.parse_args()
    asked = questions(args.clients + 1)
    with tempfile.TemporaryDirectory(prefix="iqa-concurrency-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "IQA_HOME": str(home_for(base, args.max_tokens, args.threads)), "OMP_NUM_THREADS": "1"}
        for var in ("IQA_LLM_URL", "IQA_MODEL", "IQA_INDEX"):
            env.pop(var, None)
        index = base / "index"
        iqa(["ingest", str(args.notes), "--index", str(index)], env, capture_output=True)
        gguf = resolve_llm_path(args.model, Path(env["IQA_HOME"]) / "models", print)
        results = []
        for setup in args.setups.split(","):
            if setup == "server":
                with LlamaServer(gguf, alias=ALIAS, threads=args.threads) as server:
                    results.append(run_setup(f"llama_cpp.server, {args.threads} threads", index, env,
                                             ["--llm-url", server.url, "--llm-name", ALIAS], asked, base))
            else:
                results.append(run_setup(f"in-process model, {args.threads} threads", index, env,
                                         ["--model", args.model], asked, base))
    print(f"{machine()}; {args.clients} questions at once; {args.model}; max_tokens {args.max_tokens}")
    print("| setup | by model | declined | extractive | errors | wall s | answers/min | p50 s | p95 s | load (1 min) |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['setup']} | {r['by_model']} | {r['declined']} | {r['extractive']} | {r['errors']} | {r['wall_s']} | "
              f"{r['answers_per_min']} | {r['p50_s']} | {r['p95_s']} | {r['load_1min'][0]} → {r['load_1min'][1]} |")
    save("concurrency", {"machine": machine(), "model": args.model, "max_tokens": args.max_tokens, "results": results})
    print(f"rows: {OUT / 'concurrency.json'}")


if __name__ == "__main__":
    main()
