"""Small helpers shared by the benchmark scripts: timing, percentiles, memory, paths."""
from __future__ import annotations

import json
import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IQA_SHARED") or ROOT.parent / "shared")
OUT = ROOT / "bench" / "out"


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] if xs else float("nan")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1_048_576


@contextmanager
def timer(store: dict, key: str):
    t0 = time.perf_counter()
    yield
    store[key] = time.perf_counter() - t0


def save(name: str, data: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))


def dev_questions():
    return [json.loads(line) for line in (SHARED / "eval" / "dev_questions.jsonl").read_text().splitlines() if line]


def dev_keypoints() -> dict:
    """{id: KeyPoints} of the dev questions that have key points (empty when the file is missing)."""
    from eval.questions import load_keypoints
    path = SHARED / "eval" / "dev_keypoints.jsonl"
    return load_keypoints(path) if path.is_file() else {}


def machine() -> str:
    return f"{os.cpu_count()} cores, {os.uname().machine}"
