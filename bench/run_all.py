"""Run every benchmark in sequence (make bench); each prints its own figures.

The ingest benchmark builds the shared-corpus index the others read.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
INDEX = str(Path(tempfile.gettempdir()) / "iqa-bench-index")

# 12 generation questions per model keep the whole run near 12 minutes (15 took 13 min).
RUNS = [("ingest_bench.py",), ("retrieval_bench.py",), ("growth_bench.py",), ("answer_bench.py", "--n", "12"), ("memory_bench.py",)]

for script, *extra in RUNS:
    print(f"\n== {script}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / script), "--index", INDEX, *extra], check=True)
    print(f"({time.perf_counter() - t0:.0f}s)", flush=True)
