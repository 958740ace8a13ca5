"""Ingest speed on the shared corpus: cold (parse + embed), unchanged re-ingest, one file changed.

    python bench/ingest_bench.py --index /tmp/iqa-bench-index
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import SHARED, dir_mb, machine, save

from ingest.build import ingest
from rag.embed import make_embedder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "iqa-bench-index")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iqa-bench-corpus-"))
    corpus = work / "corpus"
    shutil.copytree(SHARED / "corpus", corpus)
    shutil.rmtree(args.index, ignore_errors=True)
    embedder = make_embedder("e5-small", threads=2)
    quiet = dict(log=lambda m: None)
    cold = ingest([corpus], args.index, embedder, **quiet)
    warm = ingest([corpus], args.index, embedder, **quiet)
    victim = corpus / "seeds" / "004_bacdb4f53dab0ee4.txt"
    victim.write_text(victim.read_text(encoding="utf-8").replace("问题8", "问题8 (edited)"), encoding="utf-8")
    one = ingest([corpus], args.index, embedder, **quiet)
    result = {
        "machine": machine(), "files": cold.files, "sections": cold.sections, "chunks": cold.chunks,
        "snippets": cold.snippets, "skipped": len(cold.skipped),
        "cold": cold.seconds, "cold_files_per_s": cold.files / cold.seconds["total"],
        "cold_chunks_per_s": cold.chunks / cold.seconds["total"],
        "parse_chunks_per_s": cold.chunks / max(cold.seconds["parse"], 1e-9),
        "embed_ms_per_chunk": 1000 * cold.seconds["embed"] / max(cold.embedded, 1),
        "unchanged": {"seconds": warm.seconds, "embedded": warm.embedded},
        "one_file_changed": {"seconds": one.seconds, "embedded": one.embedded, "parsed": one.parsed},
        "index_mb": dir_mb(args.index),
    }
    save("ingest", result)
    print(f"ingest, shared corpus ({machine()}): {cold.files} files, {cold.sections} sections, {cold.chunks} chunks, "
          f"{cold.snippets} code snippets, {len(cold.skipped)} skipped")
    print(f"  cold: total {cold.seconds['total']:.1f}s = parse {cold.seconds['parse']:.1f}s + embed "
          f"{cold.seconds['embed']:.1f}s + index {cold.seconds['index']:.1f}s; {result['cold_files_per_s']:.2f} files/s, "
          f"{result['cold_chunks_per_s']:.1f} chunks/s; parse alone {result['parse_chunks_per_s']:.0f} chunks/s; "
          f"embedding {result['embed_ms_per_chunk']:.0f} ms/chunk ({cold.seconds['embed'] / cold.seconds['total']:.0%} of the time)")
    print(f"  unchanged re-ingest: {warm.seconds['total']:.1f}s, embedded {warm.embedded}; "
          f"cold/unchanged = {cold.seconds['total'] / warm.seconds['total']:.0f}x")
    print(f"  one file changed: {one.seconds['total']:.1f}s, parsed {one.parsed} file, embedded {one.embedded} chunk(s)")
    print(f"  index on disk: {result['index_mb']:.1f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
