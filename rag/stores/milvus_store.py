"""Milvus behind VectorIndex: the dense vectors and the BM25 side of a generation in one collection;
the only module that imports pymilvus.

    --store milvus                      Milvus Lite in <index>/milvus.db (an embedded Milvus, no server)
    --store milvus:./notes.db           Milvus Lite in that file
    --store milvus:http://host:19530    a Milvus server or cluster: the same client code

Each saved generation is a new collection `<prefix>_g<ns>` (prefix: this host and index folder), written
completely, indexed and loaded before the generation's folder names it in milvus.json. Once iqa's CURRENT
names the generation, the alias `<prefix>` is moved onto the collection (one atomic metadata call, so a
reader that knows only Milvus switches at once too) and the collections of older generations are
dropped, all but the one just replaced, which a question in flight in another process may still read.

The BM25 side is stored as sparse vectors: each chunk's weights are exactly the BM25 scores bm25s
computed over rag.text's jieba tokens (the corpus's own terms included), keyed by a hash of the token,
and a query is its token counts, so the inner product is the same BM25 score the FAISS store ranks by.
Milvus's own full-text search (its jieba analyzer) would cut other tokens than rag.text does.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import zlib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pymilvus
from pymilvus import DataType, MilvusClient

from rag import text as textlib
from rag.errors import ConfigError, IndexUnavailable
from rag.stores.base import VectorIndex

FILE = "milvus.json"
LITE_FILE = "milvus.db"          # where `--store milvus` keeps a Lite database: inside the index folder
FORMAT = "iqa-milvus v1"         # the collection's property "iqa.format": marks a collection iqa wrote
HNSW_FROM = 50_000               # exact search below this many rows, as the FAISS store
BATCH = 1000                     # rows per insert and per page when reading vectors back
MAX_LIMIT = 16_384               # Milvus's largest top-k
REBUILD = "run `iqa ingest --rebuild PATH`"
FIELDS = {"row", "chunk", "source", "dense", "bm25"}
WRITE_FIX = "the previous index is still live; check that Milvus is reachable and has room, and run `iqa ingest PATH` again"

# pymilvus logs every failed call with its traceback; each failure here becomes one IndexUnavailable sentence.
# Milvus Lite serves inside this process over grpc: its server logs as errors, with a traceback, the calls
# Lite leaves out (pymilvus polls index progress after create_index), and its own failures, reported here too.
for _noisy in ("pymilvus", "grpc._server", "milvus_lite"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)
_clients: dict[str, MilvusClient] = {}


def lite_or_uri(where: str, index_dir: Path) -> str:
    """Where to connect: lite_or_uri("", idx) -> ".../idx/milvus.db"; a relative .db path is made absolute."""
    if "://" in where:
        return where
    path = Path(where).expanduser() if where else index_dir / LITE_FILE
    if path.suffix != ".db":
        raise ConfigError(f"Milvus store {where!r} is neither a Lite file ending in .db nor a server URI; "
                          f"use milvus:./notes.db or milvus:http://host:19530.")
    return str(path.resolve())


@contextmanager
def milvus_errors(uri: str, doing: str, fix: str = f"check that it is reachable, or {REBUILD}"):
    """Any failure of the client or the server becomes one sentence naming the store and the fix."""
    try:
        yield
    except (IndexUnavailable, ConfigError):
        raise
    except Exception as e:
        detail = getattr(e, "message", "") or (str(e).splitlines() or [type(e).__name__])[0]
        raise IndexUnavailable(f"The Milvus store at {uri} could not {doing} ({detail[:200]}); {fix}.") from e


def client(uri: str) -> MilvusClient:
    """One connection per store, shared by every generation read from it."""
    if uri not in _clients:
        # Milvus Lite locks its file: one process at a time (an `iqa ui` holds it until it stops).
        fix = (f"Milvus Lite serves one process at a time, so stop any other iqa using it, or {REBUILD}"
               if "://" not in uri else f"check that it is reachable, or {REBUILD}")
        with milvus_errors(uri, "be opened", fix):
            _clients[uri] = MilvusClient(uri=uri, timeout=30)
    return _clients[uri]


def reach(where: str, index_dir: Path) -> None:
    """Open the store now, so an ingest fails before embedding rather than after (ConfigError, IndexUnavailable)."""
    client(lite_or_uri(where, index_dir))


def close_all() -> None:
    """Close every connection and stop the Lite servers this process runs, releasing their files."""
    while _clients:
        uri, db = _clients.popitem()
        db.close()
        if "://" not in uri:          # Milvus Lite serves the file from a thread here until released
            from milvus_lite.server_manager import server_manager_instance
            server_manager_instance.release_server(uri)


def token_dimension(token: str) -> int:
    """The sparse dimension of a BM25 token: a 32-bit hash (Milvus's sparse indices are below 2**32 - 1)."""
    return zlib.crc32(token.encode("utf-8")) % (2**32 - 1)


def bm25_rows(lexical) -> list[dict[int, float]]:
    """Each document's BM25 weights as a sparse row, read from the scores bm25s precomputed (token-major).

    Postings are regrouped by document with numpy: a Python loop over them would take seconds per 10k chunks.
    """
    scores, tokens = lexical.bm25.scores, {i: t for t, i in lexical.vocab.items()}
    indptr = np.asarray(scores["indptr"], np.int64)
    token_dims = np.array([token_dimension(tokens[i]) for i in range(len(indptr) - 1)], np.int64)
    keys = np.asarray(scores["indices"], np.int64) * 2**32 + np.repeat(token_dims, np.diff(indptr))
    pairs, inverse = np.unique(keys, return_inverse=True)        # sorted by document, then dimension
    weights = np.bincount(inverse, weights=np.asarray(scores["data"], np.float64))   # a hash collision adds up
    docs, dims = pairs // 2**32, pairs % 2**32
    bounds = np.searchsorted(docs, np.arange(int(scores["num_docs"]) + 1))
    return [dict(zip(dims[a:b].tolist(), weights[a:b].tolist())) for a, b in zip(bounds, bounds[1:])]


def prefix_of(index_dir: Path) -> str:
    """Collection names of one index: the same on every save, different for another host or folder."""
    where = f"{socket.gethostname()}:{index_dir.resolve()}"
    return "iqa_" + hashlib.sha1(where.encode("utf-8")).hexdigest()[:12]


def _schema(db: MilvusClient, dim: int):
    schema = db.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)            # row i = chunk i of chunks.jsonl
    schema.add_field("chunk", DataType.VARCHAR, max_length=256)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)       # lets a reader of Milvus alone filter by file
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    return schema


def _index_params(db: MilvusClient, layout: str):
    params = db.prepare_index_params()
    if layout == "HNSW32":
        params.add_index("dense", index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 40})
    else:
        params.add_index("dense", index_type="FLAT", metric_type="IP")
    params.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    return params


class MilvusIndex(VectorIndex):
    """MilvusIndex(384, size=10, where="./notes.db"): rows kept in memory until save writes the collection."""

    kind, package, version = "milvus", "pymilvus", pymilvus.__version__
    keeps_bm25 = True

    def __init__(self, dim: int, size: int = 0, layout: str | None = None, where: str = ""):
        self.layout = layout or ("HNSW32" if size >= HNSW_FROM else "Flat")
        self.where, self.width, self.count = where, dim, 0
        self.pending = np.zeros((0, dim), np.float32)     # rows added since the last save
        self.uri = self.name = ""                         # set once written or loaded

    def add(self, vectors: np.ndarray) -> None:
        if self.name:
            raise ValueError("a saved Milvus generation is not changed in place; ingest writes a new one")
        self.pending = np.concatenate([self.pending, np.asarray(vectors, np.float32).reshape(-1, self.width)])
        self.count = len(self.pending)

    def search(self, vector: np.ndarray, k: int, field: str = "dense") -> list[tuple[int, float]]:
        """Best k rows, ties broken by row as the FAISS store does; field "bm25" takes a sparse query."""
        k = min(k, self.count, MAX_LIMIT)
        if k <= 0 or not self.name:
            return _exact(self.pending, vector, k) if field == "dense" and k > 0 else []
        query = vector if field == "bm25" else np.asarray(vector, np.float32).ravel().tolist()
        params = {"params": {"ef": max(64, 2 * k)}} if self.layout == "HNSW32" and field == "dense" else {}
        with milvus_errors(self.uri, "be searched"):
            found = client(self.uri).search(self.name, [query], anns_field=field, limit=k, output_fields=["row"],
                                            search_params={"metric_type": "IP", **params})[0]
        return sorted(((int(h["row"]), float(h["distance"])) for h in found), key=lambda h: (-h[1], h[0]))

    def reconstruct(self, row: int) -> np.ndarray:
        if not self.name:
            return self.pending[row]
        with milvus_errors(self.uri, "be read"):
            found = client(self.uri).query(self.name, ids=[int(row)], output_fields=["dense"])
        return np.asarray(found[0]["dense"], np.float32)

    def reconstruct_all(self) -> np.ndarray:
        if not self.name:
            return self.pending
        out = np.zeros((self.count, self.width), np.float32)
        with milvus_errors(self.uri, "be read"):
            for start in range(0, self.count, BATCH):     # rows are 0..count-1: pages by row, no server cursor
                page = client(self.uri).query(self.name, filter=f"row >= {start} and row < {start + BATCH}",
                                              output_fields=["row", "dense"], limit=BATCH)
                for hit in page:
                    out[int(hit["row"])] = hit["dense"]
        return out

    @property
    def ntotal(self) -> int:
        return self.count

    @property
    def dim(self) -> int:
        return self.width

    def save(self, folder: Path, lexical=None, chunks=()) -> None:
        """Write the rows, their chunk ids and sources and BM25 weights as a new collection; name it in folder."""
        uri, prefix = lite_or_uri(self.where, folder.parent), prefix_of(folder.parent)
        name = f"{prefix}_g" + re.sub(r"\W", "_", folder.name.rsplit("-", 1)[-1])      # Milvus names: letters, digits, _
        weights = bm25_rows(lexical) if lexical else []
        with milvus_errors(uri, "be written", WRITE_FIX):
            db = client(uri)
            if db.has_collection(name):
                db.drop_collection(name)                  # left by a save that failed before naming it
            db.create_collection(name, schema=_schema(db, self.width), index_params=_index_params(db, self.layout),
                                 consistency_level="Strong")
            db.alter_collection_properties(name, properties={"iqa.format": FORMAT})   # Lite drops a description
            for start in range(0, self.count, BATCH):
                db.insert(name, [_entity(i, self.pending[i], chunks, weights) for i in range(start, min(start + BATCH, self.count))])
            db.flush(name)
        (folder / FILE).write_text(json.dumps({"uri": uri, "collection": name, "alias": prefix, "rows": self.count,
                                               "dim": self.width, "layout": self.layout}), encoding="utf-8")
        self.uri, self.name, self.pending = uri, name, np.zeros((0, self.width), np.float32)
        self.bm25_side = MilvusBM25(self)

    @classmethod
    def load(cls, folder: Path, where: str = "") -> "MilvusIndex":
        """The collection folder's milvus.json names; where (a URI) overrides where it was written."""
        saved = json.loads((folder / FILE).read_text(encoding="utf-8"))
        uri = lite_or_uri(where, folder.parent) if where else saved["uri"]
        index = cls(int(saved["dim"]), layout=saved.get("layout", "Flat"))
        index.uri, index.name, index.count = uri, saved["collection"], int(saved["rows"])
        _check_collection(client(uri), index)
        index.bm25_side = MilvusBM25(index)
        return index

    def went_live(self, index_dir: Path) -> None:
        """Move the alias onto this collection; drop older generations' collections but the one replaced."""
        prefix = prefix_of(index_dir)
        with milvus_errors(self.uri, "switch its alias"):
            db = client(self.uri)
            previous = db.describe_alias(prefix)["collection_name"] if prefix in db.list_aliases()["aliases"] else ""
            (db.alter_alias if previous else db.create_alias)(self.name, prefix)
            for name in db.list_collections():
                if name.startswith(prefix + "_g") and name not in (self.name, previous):
                    db.drop_collection(name)


def _entity(row: int, vector: np.ndarray, chunks, weights) -> dict:
    chunk = chunks[row] if chunks else None
    # Milvus refuses an empty sparse row; bm25s gives every document a token, so only a vectors-only save has none.
    return {"row": row, "chunk": chunk.id if chunk else "", "source": chunk.source if chunk else "",
            "dense": vector.tolist(), "bm25": weights[row] if weights else {0: 1e-9}}


def _exact(rows: np.ndarray, vector: np.ndarray, k: int):
    scores = rows @ np.asarray(vector, np.float32).ravel()
    return [(int(i), float(scores[i])) for i in np.argsort(-scores, kind="stable")[:k]]


def _check_collection(db: MilvusClient, index: MilvusIndex) -> None:
    """The collection exists, iqa wrote it, and it holds the rows and width milvus.json records."""
    with milvus_errors(index.uri, "be read"):
        if not db.has_collection(index.name):
            raise IndexUnavailable(f"The Milvus collection {index.name} at {index.uri} that the index names is gone; "
                                   f"{REBUILD}.")
        described = db.describe_collection(index.name)
        fields = {f["name"]: f for f in described["fields"]}
        if described.get("properties", {}).get("iqa.format") != FORMAT or set(fields) != FIELDS:
            raise IndexUnavailable(f"The Milvus collection {index.name} at {index.uri} was not written by iqa; {REBUILD}.")
        db.load_collection(index.name)        # a collection is searchable once loaded: after a restart it is not
        rows = db.query(index.name, filter="", output_fields=["count(*)"])[0]["count(*)"]
        width = int(fields["dense"].get("params", {}).get("dim", 0))
    if rows != index.count or width != index.width:
        raise IndexUnavailable(f"The Milvus collection {index.name} at {index.uri} holds {rows} rows of width {width}, "
                               f"not the {index.count} of width {index.width} the index records; {REBUILD}.")


class MilvusBM25:
    """The BM25 side of a Milvus generation, searched as rag.lexical.Lexical is: search(query, k) -> [(row, score)]."""

    def __init__(self, index: MilvusIndex, made_by: dict[str, str] | None = None):
        self.index, self.signature = index, made_by or {}

    @property
    def size(self) -> int:
        return self.index.ntotal

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        counts = Counter(token_dimension(t) for t in textlib.tokenize(query))   # a repeated token counts again, as in bm25s
        if not counts:
            return []
        return [(row, score) for row, score in self.index.search({d: float(n) for d, n in counts.items()}, k, "bm25")
                if score > 0]
