"""The store on Milvus: Milvus Lite (a local ``.db``, no server) or a Milvus server or cluster.

One build is three collections named ``<prefix>_<time>_<rand>``:

    <build>      one record per passage: ``row`` (primary key, 0 .. n - 1 in write order), the
                 Passage as JSON, its exact vector (FLOAT_VECTOR, inner product), its content hash,
                 ``sfirst`` (the row of its first sentence in ``_s``: its sentences are read by
                 primary key, which Milvus Lite looks up directly while it scans every record for
                 a filter on another field), and ``terms``: the passage's BM25 stems joined by spaces, an analysed VARCHAR that a
                 ``FunctionType.BM25`` function turns into the sparse field Milvus's full-text
                 search runs on
    <build>_s    one record per sentence: its row, its passage's row, content hash and vector
    <build>_m    the manifest and the term statistics (document frequency per stem, passage count,
                 mean length, the speller's vocabulary) as JSON cut into records

Readers find the live build through an alias (``<prefix>_live``). A build writes its own
collections and then moves the alias in one call (``alter_alias``), so a reader sees either the
old build or the new one, never part of one; a build killed before that leaves the alias where
it was. After the switch the build before it is kept (a reader opened on it a moment ago keeps
answering until its periodic check moves it on) and everything older, and anything left by a
killed build, is dropped. One build at a time per prefix: a second concurrent build's clean-up
would drop the first's unfinished collections.

Candidates come from Milvus in one ``hybrid_search`` (dense search on the vector field, BM25
full-text search on the sparse field). Scores for given rows are computed here from the stored
stems with the build's own statistics, the same Lucene BM25 as ``stores.bm25`` (k1 1.5, b 0.75), so
the ranking stage sees the same numbers from either store.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections import Counter
from urllib.parse import urlparse

import numpy as np

from retrieval.errors import IndexCorrupt, IndexMismatch, IndexMissing, IndexOutdated, StoreInterrupted, StoreUnavailable
from retrieval.settings import Settings
from retrieval.stores.base import Batch
from retrieval.stores.milvus_snapshot import B, K1, QUERY_LIMIT, REBUILD_HINT, MilvusSnapshot
from retrieval.text.words import _content_stems, _fold, _split
from retrieval.types import Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 2          # 2: passage records carry ``sfirst``, their first sentence's row
INSERT_ROWS = 256            # records per insert call: bounded gRPC messages however large the build
FLUSH_ROWS = 5_000           # passages (and their sentences) written between flushes: Milvus Lite keeps unflushed
                             # records in memory and needs ~3x their size to flush them (20k passages at once: 2.2 GB)
CHUNK_CHARS = 60_000         # JSON per meta record (VARCHAR holds at most 65,535 bytes; the JSON is ASCII)
TEXT_CHARS = 65_535
_BUILD = re.compile(r"_(\d{8}T\d{6})_([0-9a-f]{6})$")


def where(settings: Settings) -> str:
    """BOT_MILVUS_URI as it may be shown: a server's scheme://host:port (no credentials), or the file."""
    target = settings.milvus_target
    if target.startswith(("http://", "https://")):
        u = urlparse(target)
        return f"{u.scheme}://{u.hostname}{f':{u.port}' if u.port else ''}"
    return target


def _is_down(exc: Exception) -> bool:
    """Is this the server being unreachable (rather than a request it refused)?"""
    code = getattr(exc, "code", None)
    text = str(exc)
    return code == 2 or "unavailable" in text.lower() or "Fail connecting" in text or "Open local milvus failed" in text


def _is_released(exc: Exception) -> bool:
    return getattr(exc, "code", None) == 101 or "load()" in str(exc) or "not loaded" in str(exc)


def lexical_terms(text: str) -> tuple[list[str], list[str]]:
    """(words for the vocabulary, BM25 stems) of one passage's lexical text, as ``Lexical.build`` splits it."""
    ws = _split(_fold(text))
    return ws, _content_stems(ws)


class MilvusStore:
    """Builds published by alias in one Milvus database; see the module docstring.

    >>> store = MilvusStore(settings)          # connects on first use
    >>> store.current()                        # 'newsbot_20250101T120000_a1b2c3' or None
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.prefix = settings.milvus_collection
        self.alias = f"{self.prefix}_live"
        self._client = None
        self._served = False  # connected once: failing to reconnect is then an interruption
        self._lock = threading.Lock()

    # -- connection ---------------------------------------------------------------------------

    def client(self):
        """The connected client, made on first use and again after the server came back."""
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except StoreUnavailable as exc:
                    if self._served:
                        raise StoreInterrupted(str(exc)) from None
                    raise
                self._served = True
            return self._client

    def _connect(self):
        from pymilvus import MilvusClient

        # pymilvus configures its own loggers on import and logs every refused call with a traceback
        # ("alias does not exist" on a first build, each call while a server is down): our errors say it in one line
        for name in ("pymilvus", "pymilvus.milvus_client"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        target = self.settings.milvus_target
        if not target.startswith(("http://", "https://")):
            from pathlib import Path

            Path(target).parent.mkdir(parents=True, exist_ok=True)
            # Milvus Lite's server runs in this process and logs, with a traceback, each call pymilvus makes
            # to a method Lite lacks (AllocTimestamp, at every insert; pymilvus carries on without it)
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        try:
            return MilvusClient(uri=target, token=self.settings.milvus_token, timeout=self.settings.milvus_timeout,
                                dedicated=True)  # its own channel: a reconnect after an outage is a new one
        except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException and ConnectionConfigException
            lite = "" if target.startswith("http") else (
                " (Milvus Lite serves one process: is another newsbot using this file? "
                "Share it through `milvus-lite server` and an http:// BOT_MILVUS_URI)")
            raise StoreUnavailable(f"cannot reach Milvus at BOT_MILVUS_URI={where(self.settings)}{lite}: "
                                   f"{getattr(exc, 'message', None) or type(exc).__name__}") from None

    def call(self, method: str, *args, **kwargs):
        """One client call; the server being gone becomes ``StoreInterrupted`` and the next call reconnects."""
        client = self.client()
        try:
            try:
                return getattr(client, method)(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                if not _is_released(exc) or not args:
                    raise
                # a restarted Milvus Lite comes back with its collections released: load, then once more
                client.load_collection(args[0])
                return getattr(client, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            if not _is_down(exc):
                raise
            with self._lock:
                if self._client is client:
                    self._client = None
                    try:
                        client.close()
                    except Exception:  # noqa: BLE001 - closing a dead channel may fail too
                        pass
            raise StoreInterrupted(f"Milvus at BOT_MILVUS_URI={where(self.settings)} stopped answering") from None

    # -- the protocol -------------------------------------------------------------------------

    def current(self) -> str | None:
        """Name of the collection the alias points to; None before the first build."""
        try:
            return self.call("describe_alias", self.alias)["collection_name"] or None
        except StoreUnavailable:
            raise
        except Exception:  # noqa: BLE001 - "alias does not exist"
            return None

    def open(self, model: str) -> MilvusSnapshot:
        name = self.current()
        if name is None:
            raise IndexMissing(f"no index in Milvus at {where(self.settings)} (alias {self.alias}); {REBUILD_HINT}")
        try:
            manifest = self._read_json(name, "manifest")
            stats = self._read_json(name, "stats")
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise IndexCorrupt(f"the Milvus build {name} cannot be read ({exc}); {REBUILD_HINT}") from None
        if manifest is None or stats is None:
            raise IndexCorrupt(f"the Milvus build {name} has no manifest; {REBUILD_HINT}")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            older = isinstance(version, int) and version < FORMAT_VERSION
            raise (IndexOutdated if older else IndexMismatch)(
                f"the Milvus build {name} has format version {version}, this program reads {FORMAT_VERSION}; "
                f"{REBUILD_HINT}")
        if manifest.get("model") != model:
            raise IndexMismatch(f"the index was built with model {manifest.get('model')!r} but BOT_EMBED_MODEL is "
                                f"{model!r}; {REBUILD_HINT}, or set BOT_EMBED_MODEL back")
        count = int(self.call("get_collection_stats", name).get("row_count", -1))
        if count != manifest.get("passages"):
            raise IndexCorrupt(f"the Milvus build {name} holds {count} passages, its manifest says "
                               f"{manifest.get('passages')}; {REBUILD_HINT}")
        return MilvusSnapshot(self, name, manifest, stats, self.settings.milvus_cache_rows)

    def writer(self, dim: int = 0, total: int = 0) -> "MilvusWriter":
        return MilvusWriter(self, dim, total)

    # -- meta records -------------------------------------------------------------------------

    def _read_json(self, name: str, part: str):
        rows = self.call("query", f"{name}_m", filter=f'part == "{part}"', output_fields=["seq", "body"],
                         limit=QUERY_LIMIT)
        if not rows:
            return None
        return json.loads("".join(r["body"] for r in sorted(rows, key=lambda r: r["seq"])))

    def builds(self) -> list[str]:
        """Every passages collection of this prefix (finished or not), oldest first."""
        names = self.call("list_collections")
        return sorted(n for n in names if n.startswith(f"{self.prefix}_") and _BUILD.search(n[len(self.prefix):]))

    def drop_build(self, name: str) -> None:
        for suffix in ("", "_s", "_m"):
            try:
                self.call("drop_collection", f"{name}{suffix}")
            except StoreUnavailable:
                raise
            except Exception:  # noqa: BLE001 - already gone
                pass


# The passages' dense index (BOT_MILVUS_INDEX): FLAT is exact and right for Milvus Lite and for archives
# up to a few hundred thousand passages; on a server, HNSW (memory, fast) or IVF_FLAT (less memory) keep a
# dense search well under the answer's budget at millions. Search parameters go with the build (manifest).
DENSE_INDEX = {"flat": ("FLAT", {}), "hnsw": ("HNSW", {"M": 16, "efConstruction": 200}),
               "ivf": ("IVF_FLAT", {"nlist": 1024})}


def _schemas(dim: int, index: str = "flat"):
    """Schemas and index parameters of a build's three collections."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    passages = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    passages.add_field("row", DataType.INT64, is_primary=True)
    passages.add_field("sfirst", DataType.INT64)  # its sentences are srow sfirst .. sfirst + len - 1
    passages.add_field("key", DataType.VARCHAR, max_length=40)
    passages.add_field("passage", DataType.VARCHAR, max_length=TEXT_CHARS)
    passages.add_field("terms", DataType.VARCHAR, max_length=TEXT_CHARS, enable_analyzer=True,
                       analyzer_params={"tokenizer": "standard"})  # the stems are [a-z0-9]+: it splits on spaces
    passages.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    passages.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    passages.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                   input_field_names=["terms"], output_field_names=["sparse"]))
    p_index = MilvusClient.prepare_index_params()
    kind, params = DENSE_INDEX[index]
    p_index.add_index("vector", index_type=kind, metric_type="IP", params=params)
    p_index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                      params={"bm25_k1": K1, "bm25_b": B})
    p_index.add_index("key", index_type="INVERTED")

    sentences = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    sentences.add_field("srow", DataType.INT64, is_primary=True)
    sentences.add_field("prow", DataType.INT64)
    sentences.add_field("key", DataType.VARCHAR, max_length=40)
    sentences.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s_index = MilvusClient.prepare_index_params()
    s_index.add_index("vector", index_type="FLAT", metric_type="IP")
    s_index.add_index("prow", index_type="INVERTED")
    s_index.add_index("key", index_type="INVERTED")

    meta = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    meta.add_field("part", DataType.VARCHAR, max_length=32)
    meta.add_field("seq", DataType.INT64)
    meta.add_field("body", DataType.VARCHAR, max_length=TEXT_CHARS)
    meta.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    m_index = MilvusClient.prepare_index_params()
    m_index.add_index("v", index_type="FLAT", metric_type="L2")
    return (passages, p_index), (sentences, s_index), (meta, m_index)


class MilvusWriter:
    """A build streamed into fresh collections; invisible until ``publish`` moves the alias.

    Only the term statistics (one count per distinct word) stay in memory; passages and
    vectors go to Milvus batch by batch.
    """

    def __init__(self, store: MilvusStore, dim: int, total: int):
        self.store, self.dim, self.total = store, dim, total
        self.name = f"{store.prefix}_{time.strftime('%Y%m%dT%H%M%S')}_{secrets.token_hex(3)}"
        self.rows = self.sentences = self.length = 0
        self.df: Counter[str] = Counter()
        self.vocabulary: Counter[str] = Counter()
        self._done = self._created = False
        self._flushed = 0  # passages written when the build's collections were last flushed
        if dim:
            self._create(dim)

    def _create(self, dim: int) -> None:
        """The build's collections, made when its dimension is known (the engine learns it from the first batch)."""
        self.dim = dim
        for suffix, (schema, index) in zip(("", "_s", "_m"), _schemas(dim, self.store.settings.milvus_index)):
            self.store.call("create_collection", f"{self.name}{suffix}", schema=schema, index_params=index)
        self._created = True

    def add(self, batch: Batch) -> None:
        if not len(batch.passages):
            return
        if not self._created:
            self._create(int(batch.passage_vectors.shape[1]))
        if batch.passage_vectors.shape[1:] != (self.dim,) or batch.sentence_vectors.shape[1:] != (self.dim,):
            raise ValueError(f"a batch came with vectors of shape {batch.passage_vectors.shape}, "
                             f"the build's dimension is {self.dim}")
        n, starts = len(batch.passages), np.cumsum([0] + [len(p.sentences) for p in batch.passages])
        keys = [k.hex() for k in np.asarray(batch.keys).tolist()]
        records = []
        for i, (p, text) in enumerate(zip(batch.passages, batch.lexical_texts)):
            ws, stems = lexical_terms(text)
            self.vocabulary.update(ws)
            self.df.update(set(stems))
            self.length += len(stems) or 1  # bm25s indexes an empty passage as one "<empty>" token
            records.append({"row": self.rows + i, "sfirst": self.sentences + int(starts[i]), "key": keys[i],
                            "passage": _passage_json(p),
                            "terms": " ".join(stems), "vector": batch.passage_vectors[i].astype(np.float32)})
        self._insert("", records)
        sentences = [{"srow": self.sentences + j, "prow": self.rows + int(np.searchsorted(starts, j, "right") - 1),
                      "key": keys[n + j], "vector": batch.sentence_vectors[j].astype(np.float32)}
                     for j in range(int(starts[-1]))]
        self._insert("_s", sentences)
        self.rows += n
        self.sentences += int(starts[-1])
        if self.rows - self._flushed >= FLUSH_ROWS:
            for suffix in ("", "_s"):
                self.store.call("flush", f"{self.name}{suffix}")
            self._flushed = self.rows

    def _insert(self, suffix: str, records: list[dict]) -> None:
        for start in range(0, len(records), INSERT_ROWS):
            self.store.call("insert", f"{self.name}{suffix}", records[start:start + INSERT_ROWS])

    def publish(self, manifest: dict, progress: bool = False) -> str:
        store = self.store
        if not self._created:
            self._create(int(manifest.get("dim") or 1))
        stats = {"size": self.rows, "avgdl": self.length / max(self.rows, 1), "df": dict(self.df),
                 "vocabulary": dict(self.vocabulary)}
        manifest = {**manifest, "format_version": FORMAT_VERSION, "dim": self.dim, "passages": self.rows,
                    "dense_index": store.settings.milvus_index,
                    "sentences": self.sentences, "store": "milvus", "previous": store.current()}
        self._insert("_m", [*_chunks("stats", stats), *_chunks("manifest", manifest)])  # the manifest last
        for suffix in ("", "_s", "_m"):
            store.call("flush", f"{self.name}{suffix}")
        if manifest["previous"] is None:
            try:
                store.call("create_alias", self.name, store.alias)
            except StoreUnavailable:
                raise
            except Exception:  # noqa: BLE001 - created by another build in the meantime
                store.call("alter_alias", self.name, store.alias)
        else:
            store.call("alter_alias", self.name, store.alias)
        self._done = True
        keep = {self.name, manifest["previous"]}
        for old in store.builds():
            if old not in keep:
                store.drop_build(old)
        return self.name

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self.store.drop_build(self.name)


def _passage_json(p: Passage) -> str:
    text = json.dumps(p.to_dict(), ensure_ascii=False)
    if len(text.encode("utf-8")) > TEXT_CHARS:
        raise ValueError(f"passage {p.id} of {p.file} is over {TEXT_CHARS} bytes as JSON")
    return text


def _chunks(part: str, value) -> list[dict]:
    body = json.dumps(value, ensure_ascii=True)
    return [{"id": f"{part}/{i:06d}", "part": part, "seq": i, "body": body[s:s + CHUNK_CHARS], "v": [0.0, 0.0]}
            for i, s in enumerate(range(0, max(len(body), 1), CHUNK_CHARS))]

def count_calls(store: MilvusStore) -> Counter:
    """Count ``store``'s calls to Milvus by method from now on; the calls still happen. For the
    benchmarks and tests that say how many round trips an answer makes."""
    calls: Counter = Counter()
    real = store.call

    def call(method, *args, **kwargs):
        calls[method] += 1
        return real(method, *args, **kwargs)

    store.call = call
    return calls
