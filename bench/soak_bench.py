"""Soak: a launched `iqa ui` (behind a login) under a steady mix of chat and /ask questions, with one
re-ingest halfway. Bounded in questions and time: it always stops by itself.

    python bench/soak_bench.py            # full run: 200 questions over ~10 min from 8 clients, 1 in 20 by the LLM
    python bench/soak_bench.py --questions 40 --seconds 60 --llm-every 0 --notes tests/data/notes   # tests/test_soak.py

It copies --notes, builds an index with `python -m ui.cli ingest`, starts `python -m ui.cli ui` on a free
127.0.0.1 port with --auth, and sends question i at start + i * seconds / questions from the next free
client: odd ones through the chat (Enter, /chat), even ones through /ask; one in --llm-every answers
with the model (--model), the others are extractive. Halfway it adds a note to the copy and ingests
again while questions keep coming; the server must answer from the new generation without a restart.

With --reingest-every S a note is also edited and ingested again every S seconds for the whole load
(readers during generation switches); its ingests, failed ingests and the generations the server refused
to load (must be 0) are reported beside the failed questions (must be 0) and the RSS growth.

    python bench/soak_bench.py --questions 60 --seconds 60 --llm-every 0 --notes tests/data/notes --reingest-every 5

Counted per question: answered, failed (an error or a "⚠️" sentence), rejected (queue full: "try again")
and hung (no answer within --timeout). Printed and written to --out: those counts, p50/p95 latency,
the server's RSS (VmRSS) at start (after warm-up), middle and end, its open file descriptors at start
and end, whether the new note was found, and whether the password showed up anywhere; one row per
question; the server's own output goes to <out stem>.server.log beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"      # the client must not call home: 127.0.0.1 only
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.utils import QueueError  # noqa: E402

from common import machine, median, p95  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "soak", "soak-Pw-" + os.urandom(6).hex()      # a fresh secret each run, to look for leaks
# Questions the starter corpus and tests/data/notes both cover (used when --question-file has too few).
QUESTIONS = ["ROIAlign vs ROIPool?", "NMS 是怎么工作的？", "BN训练和推理有啥区别", "Focal Loss 解决什么问题",
             "FPN 的代码怎么写", "LoRA 的 rank 和 alpha 怎么设？", "ROIPool 为啥会有对齐误差", "What does NMS do?",
             "BatchNorm 推理时用什么统计量？", "Why does Focal Loss down-weight easy examples?"]
PROBE_NOTE = "## Zorblax 归一化是什么？\nZorblax 归一化把每个通道除以它在训练中见过的最大值，是压测中途新加的笔记。\n"
PROBE_QUESTION = "Zorblax 归一化是什么？"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=600, help="spread the questions over about this long")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--llm-every", type=int, default=20, help="every Nth question uses the model (0: none)")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--notes", type=Path, default=ROOT / "corpus")
    ap.add_argument("--question-file", type=Path, default=ROOT / "eval" / "questions.jsonl")
    ap.add_argument("--timeout", type=float, default=300, help="seconds one question may take before it counts as hung")
    ap.add_argument("--reingest-every", type=float, default=0, metavar="S",
                    help="also edit a note and re-ingest every S seconds for as long as questions come "
                         "(0: only the one re-ingest halfway)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "soak.json")
    return ap.parse_args(argv)


# ---- the server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iqa(*args: str, timeout: float, log=None) -> subprocess.CompletedProcess:
    """One `python -m ui.cli` command to completion (bounded by timeout)."""
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, timeout=timeout, check=True,
                          stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def start_server(index: Path, port: int, model: str, password_file: Path, log) -> subprocess.Popen:
    """`iqa ui` as its own process, as a user would start it; the password is only in its file."""
    cmd = [sys.executable, "-m", "ui.cli", "ui", "--index", str(index), "--port", str(port), "--model", model,
           "--auth", f"{USER}:{password_file}"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_until_up(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"iqa ui exited with {server.returncode} before serving")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"iqa ui did not answer on {url} within {seconds:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    """Ctrl+C first (what a user does), then a kill if it does not stop within 15 s."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(15)


def process_figures(pid: int) -> dict:
    """RSS in MB (VmRSS of /proc/<pid>/status) and the number of open file descriptors."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": len(os.listdir(f"/proc/{pid}/fd")), "t": time.monotonic(),
            "load_1min": os.getloadavg()[0]}       # other work on the machine slows the answers: say how much


# ---- the clients -------------------------------------------------------------------------------

def answer_text(kind: str, result) -> str:
    """The answer as text: /ask returns Markdown; the chat returns its history (the last message is the answer)."""
    if kind == "ask":
        return str(result)
    content = result[0][-1]["content"]
    return "".join(part.get("text", "") for part in content) if isinstance(content, list) else str(content)


def ask_one(client: Client, question: str, kind: str, mode: str, timeout: float) -> tuple[str, str]:
    """(outcome, text): answered, failed, rejected (queue full) or hung (no answer within timeout)."""
    if kind == "chat":
        job = client.submit(question, [], 5, "hybrid", mode, api_name="/chat")
    else:
        job = client.submit(question, mode, api_name="/ask")
    try:
        text = answer_text(kind, job.result(timeout=timeout))
    except QueueError as e:
        return "rejected", str(e)
    except FutureTimeout:
        job.cancel()
        return "hung", f"no answer within {timeout:.0f} s"
    except Exception as e:       # a broken connection or a server error: counted, and the soak goes on
        return "failed", f"{type(e).__name__}: {e}"
    return ("failed" if text.startswith("⚠️") or not text.strip() else "answered"), text


class Schedule:
    """Question i is due at start + i * spacing; each free client takes the next one."""

    def __init__(self, questions: list[str], count: int, seconds: float, llm_every: int):
        self.questions, self.count, self.llm_every = questions, count, llm_every
        self.spacing, self.next, self.lock = seconds / max(1, count), 0, threading.Lock()
        self.start = time.monotonic()

    def take(self):
        """(i, question, kind, mode, due) or None when every question is handed out."""
        with self.lock:
            i, self.next = self.next, self.next + 1
        if i >= self.count:
            return None
        mode = "LLM" if self.llm_every and i % self.llm_every == self.llm_every - 1 else "Extractive"
        kind = "chat" if i % 2 else "ask"
        return i, self.questions[i % len(self.questions)], kind, mode, self.start + i * self.spacing


def client_loop(url: str, schedule: Schedule, timeout: float, results: list) -> None:
    """One user: logs in once, then answers scheduled questions until none are left."""
    try:
        client = Client(url, auth=(USER, PASSWORD), verbose=False)
    except Exception as e:           # no login, no questions: every one this client would take fails
        results.append({"outcome": "failed", "text": f"login: {type(e).__name__}: {e}", "kind": "login"})
        return
    try:
        while (item := schedule.take()) is not None:
            i, question, kind, mode, due = item
            time.sleep(max(0.0, due - time.monotonic()))
            t0 = time.monotonic()
            outcome, text = ask_one(client, question, kind, mode, timeout)
            results.append({"i": i, "question": question, "kind": kind, "mode": mode, "outcome": outcome, "text": text[:300],
                            "latency_ms": round(1000 * (time.monotonic() - t0)), "started": t0})
    finally:
        client.close()


# ---- the run -----------------------------------------------------------------------------------

def load_questions(path: Path | None, notes: Path) -> list[str]:
    """The labelled questions whose notes are in the corpus under test, else the built-in list."""
    if path and path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        mine = [r["question"] for r in rows if (notes / r.get("source", "")).is_file()]
        if len(mine) >= 5:
            return mine
    return QUESTIONS


def reingest(notes: Path, index: Path, url: str, log, timeout: float) -> dict:
    """Add a note and ingest again while the server runs; then the new note must be found."""
    (notes / "soak_probe.md").write_text(PROBE_NOTE, encoding="utf-8")
    t0 = time.monotonic()
    iqa("ingest", str(notes), "--index", str(index), timeout=600, log=log)
    took = time.monotonic() - t0
    client = Client(url, auth=(USER, PASSWORD), verbose=False)
    try:
        outcome, text = ask_one(client, PROBE_QUESTION, "ask", "Extractive", timeout)
    finally:
        client.close()
    return {"seconds": round(took, 1), "started_at": t0, "done_at": time.monotonic(), "probe_outcome": outcome,
            "new_note_found": outcome == "answered" and "soak_probe.md" in text}


CHURN_NOTE = "## Soak 改动次数是多少？\n这条笔记在压测中被改写并重新导入，现在是第 {n} 次。\n"


def reingest_loop(notes: Path, index: Path, log, every: float, until: float, churn: list) -> None:
    """Edit one note and ingest again every `every` seconds until `until` (monotonic): readers must never
    fail while generations switch under them. Each ingest's outcome and seconds go into churn."""
    n = 0
    while time.monotonic() + every < until:
        time.sleep(every)
        n += 1
        (notes / "soak_churn.md").write_text(CHURN_NOTE.format(n=n), encoding="utf-8")
        t0 = time.monotonic()
        try:
            iqa("ingest", str(notes), "--index", str(index), timeout=600, log=log)
            ok = True
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            ok = False
        churn.append({"n": n, "ok": ok, "seconds": round(time.monotonic() - t0, 1)})


def refused_reloads(log_path: Path) -> int:
    """Generations the server would not load (it logs "... cannot be used"): each is a reader that failed."""
    return log_path.read_text(encoding="utf-8", errors="replace").count("cannot be used")


def sample_until(pid: int, stop: threading.Event, samples: list, every: float = 5.0) -> None:
    """RSS and fds every few seconds until stopped (the caller bounds the run)."""
    while not stop.wait(every):
        try:
            samples.append(process_figures(pid))
        except (OSError, StopIteration):
            return


def warm_up(url: str, llm: bool, model_timeout: float) -> None:
    """Load the embedder and the model before the start figures: warm-up is not growth.

    The model loads even for extractive answers: an English question over Chinese notes is also
    searched in Chinese, translated by the answer model.
    """
    plan = [("ask", "Extractive", QUESTIONS[0]), ("chat", "Extractive", QUESTIONS[1]),
            ("ask", "Extractive", "How does non-maximum suppression remove duplicate boxes?")]
    client = Client(url, auth=(USER, PASSWORD), verbose=False)
    try:
        for kind, mode, question in plan + ([("chat", "LLM", QUESTIONS[2])] if llm else []):
            outcome, text = ask_one(client, question, kind, mode, model_timeout)
            if outcome != "answered":
                raise RuntimeError(f"warm-up question not answered ({outcome}): {text[:200]}")
    finally:
        client.close()


def summarise(results: list, figures: dict, reingest_info: dict, args, leaks: list[str]) -> dict:
    answered = [r for r in results if r["outcome"] == "answered"]
    lat = [r["latency_ms"] for r in answered]
    count = {k: sum(r["outcome"] == k for r in results) for k in ("answered", "failed", "rejected", "hung")}
    by_mode = {m: {"answered": sum(r.get("mode") == m for r in answered),
                   "p50_ms": median([r["latency_ms"] for r in answered if r.get("mode") == m]),
                   "p95_ms": p95([r["latency_ms"] for r in answered if r.get("mode") == m])}
               for m in ("Extractive", "LLM")}
    start, middle, end = figures["start"], figures["middle"], figures["end"]
    return {"machine": machine(), "command": args.command,
            "questions": args.questions, "seconds": args.seconds, "clients": args.clients, **count,
            "latency_ms": {"p50": median(lat), "p95": p95(lat), "max": max(lat, default=float("nan"))},
            "by_mode": by_mode,
            "rss_mb": {"start": start["rss_mb"], "middle": middle["rss_mb"], "end": end["rss_mb"],
                       "max": figures["max_rss_mb"], "growth": round(end["rss_mb"] - start["rss_mb"], 1)},
            "fds": {"start": start["fds"], "end": end["fds"]},
            "load_1min": {"start": start["load_1min"], "middle": middle["load_1min"], "end": end["load_1min"]},
            "reingest": {k: v for k, v in reingest_info.items() if k != "done_at"},
            "after_reingest_answered": sum(r["started"] > reingest_info.get("done_at", 1e18) for r in answered),
            "problems": sorted({r["text"][:200] for r in results if r["outcome"] in ("failed", "hung")})[:10],
            "rejections": sorted({r["text"][:200] for r in results if r["outcome"] == "rejected"})[:3],
            "slowest": [{k: r[k] for k in ("question", "kind", "mode", "latency_ms")}
                        for r in sorted(answered, key=lambda r: -r["latency_ms"])[:5]],
            "password_exposed": leaks, "wall_s": round(figures["wall_s"], 1),
            # one row per question (t: seconds after the start it was sent), to see where time went
            "rows": [{"i": r["i"], "kind": r["kind"], "mode": r["mode"], "outcome": r["outcome"],
                      "t": round(r["started"] - figures["t0"], 1), "ms": r["latency_ms"]}
                     for r in sorted(results, key=lambda r: r.get("i", -1)) if "i" in r]}


def password_leaks(pid: int, log_path: Path) -> list[str]:
    """Where the password shows up: the process list, the environment, the server's log (should be nowhere)."""
    places = {"cmdline": Path(f"/proc/{pid}/cmdline"), "environ": Path(f"/proc/{pid}/environ"), "log": log_path}
    return [name for name, path in places.items() if PASSWORD.encode() in path.read_bytes()]


def soak(args, work: Path) -> dict:
    notes, index = work / "notes", work / "index"
    log_path = args.out.with_name(f"{args.out.stem}.server.log")      # kept beside the figures, to read after a run
    log_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(args.notes, notes)
    (work / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    (work / "password").chmod(0o600)
    questions = load_questions(args.question_file, args.notes)
    with open(log_path, "w", encoding="utf-8") as log:
        iqa("ingest", str(notes), "--index", str(index), timeout=1800, log=log)
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = start_server(index, port, args.model, work / "password", log)
        try:
            return run_load(args, server, url, (notes, index, log, log_path), questions)
        finally:
            stop_server(server)


def run_load(args, server, url: str, paths, questions: list[str]) -> dict:
    """Warm up, then the clients, the sampler and (halfway) the re-ingest; all bounded in time."""
    notes, index, log, log_path = paths
    t_begin = time.monotonic()
    wait_until_up(url, server)
    warm_up(url, bool(args.llm_every), model_timeout=900)
    figures, samples, results, stop = {"start": process_figures(server.pid)}, [], [], threading.Event()
    schedule = Schedule(questions, args.questions, args.seconds, args.llm_every)
    threads = [threading.Thread(target=client_loop, args=(url, schedule, args.timeout, results), daemon=True)
               for _ in range(args.clients)]
    threads.append(threading.Thread(target=sample_until, args=(server.pid, stop, samples), daemon=True))
    churn: list[dict] = []
    if args.reingest_every > 0:
        churner = threading.Thread(target=reingest_loop, daemon=True,
                                   args=(notes, index, log, args.reingest_every, schedule.start + args.seconds, churn))
        threads.insert(0, churner)          # joined with the clients, before the end figures
    for t in threads:
        t.start()
    time.sleep(max(0.0, schedule.start + args.seconds / 2 - time.monotonic()))
    figures["middle"] = process_figures(server.pid)
    reingest_info = reingest(notes, index, url, log, args.timeout)
    reingest_info["at_s"] = round(reingest_info.pop("started_at") - schedule.start, 1)
    hard_stop = schedule.start + args.seconds + 2 * args.timeout + 60
    for t in threads[:-1]:
        t.join(max(0.0, hard_stop - time.monotonic()))
    stop.set()
    time.sleep(3)                   # closed clients' connections are gone before the end figures
    figures["end"] = process_figures(server.pid)
    figures["max_rss_mb"] = max(s["rss_mb"] for s in [*samples, figures["start"], figures["end"]])
    figures["wall_s"], figures["t0"] = time.monotonic() - t_begin, schedule.start
    unfinished = args.questions - len([r for r in results if "i" in r])
    results += [{"outcome": "hung", "text": "client thread still waiting at the hard stop"}] * max(0, unfinished)
    log.flush()
    reingest_info["churn"] = {"ingests": len(churn), "failed": sum(not c["ok"] for c in churn),
                              "median_s": median([c["seconds"] for c in churn]),
                              "reloads_refused": refused_reloads(log_path)}
    return summarise(results, figures, reingest_info, args, password_leaks(server.pid, log_path))


def report(result: dict) -> str:
    lat, rss, fds = result["latency_ms"], result["rss_mb"], result["fds"]
    return "\n".join([
        f"soak: {result['questions']} questions over {result['seconds']:.0f} s from {result['clients']} clients "
        f"({result['wall_s']:.0f} s wall)",
        f"answered {result['answered']}, failed {result['failed']}, rejected {result['rejected']}, hung {result['hung']}",
        f"latency p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, max {lat['max']:.0f} ms",
        *(f"  {m}: {v['answered']} answered, p50 {v['p50_ms']:.0f} ms, p95 {v['p95_ms']:.0f} ms"
          for m, v in result["by_mode"].items() if v["answered"]),
        f"server RSS start {rss['start']:.0f} MB, middle {rss['middle']:.0f} MB, end {rss['end']:.0f} MB "
        f"(growth {rss['growth']:+.0f} MB, max {rss['max']:.0f} MB); open fds start {fds['start']}, end {fds['end']}",
        f"re-ingest {result['reingest']['seconds']:.1f} s; new note found: {result['reingest']['new_note_found']}; "
        f"{result['after_reingest_answered']} answered after it",
        *([f"re-ingests during the load: {c['ingests']} (failed {c['failed']}, median {c['median_s']:.1f} s); "
           f"generations the server refused to load: {c['reloads_refused']}"]
          if (c := result["reingest"].get("churn", {})).get("ingests") else []),
        f"password visible in: {', '.join(result['password_exposed']) or 'nowhere'}; machine load (1 min) "
        f"{result['load_1min']['start']:.1f} / {result['load_1min']['middle']:.1f} / {result['load_1min']['end']:.1f}",
        *(f"  problem: {p}" for p in result["problems"]), *(f"  rejected: {p}" for p in result["rejections"])])


def main(argv=None) -> int:
    args = parse_args(argv)
    args.command = " ".join(["python", "bench/soak_bench.py", *(sys.argv[1:] if argv is None else argv)])
    with tempfile.TemporaryDirectory(prefix="iqa-soak-") as tmp:
        result = soak(args, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(report(result))
    print(f"written to {args.out}")
    churn = result["reingest"].get("churn", {})
    return 1 if result["failed"] or result["hung"] or churn.get("failed") or churn.get("reloads_refused") else 0


if __name__ == "__main__":
    sys.exit(main())
