"""Ingest time of one generated single-line note (a minified page, a base64 image): must grow linearly.

    python bench/long_line_bench.py --bytes 400000 2000000
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.build import ingest  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402

WORDS = ["卷积", "神经网络", "attention", "特征", "ROIAlign", "插值", "batch", "的"]


def one_line(size: int, seed: int = 0) -> str:
    rnd, parts, n = random.Random(seed), [], 0
    while n < size:
        parts.append(rnd.choice(WORDS))
        n += len(parts[-1].encode()) + 1
    return " ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", type=int, nargs="+", default=[400_000, 2_000_000])
    args = ap.parse_args()
    for size in args.bytes:
        with tempfile.TemporaryDirectory() as d:
            note = Path(d) / "line.md"
            note.write_text("## 长行？\n" + one_line(size) + "\n", encoding="utf-8")
            t0 = time.perf_counter()
            summary = ingest([note], Path(d) / "index", FakeEmbedder(), log=lambda m: None)
            print(f"{size:>10,} bytes: {time.perf_counter() - t0:6.1f} s, {summary.chunks} chunks")


if __name__ == "__main__":
    main()
