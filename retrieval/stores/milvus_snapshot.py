"""Reading one published Milvus build: candidates from Milvus, scores from the build's own statistics.

A snapshot is pinned to its collection (not the alias), so a build published later does not change
what it answers from. Rows it has read are kept in two bounded caches of its own (``row_cache``):
passage records (passage, vector, stems: one read for all three) and each passage's sentence
vectors, both read by primary key. A published build is immutable, so a cached row is always the
store's row; a new build is a new snapshot with empty caches. A warm answer then costs one Milvus
call (the ``hybrid_search`` of ``candidates``), a cold one three (one ``get`` per collection for the
rows it lacks). See ``stores.milvus``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import NamedTuple

import numpy as np

from retrieval.errors import IndexCorrupt
from retrieval.stores.row_cache import RowCache
from retrieval.types import Passage, Source

K1, B = 1.5, 0.75            # bm25s's defaults, which the local store uses
QUERY_IDS = 1000             # ids per ``get`` or ``in [...]`` filter
QUERY_LIMIT = 16384          # Milvus's cap on one query's offset + limit
LEXICAL_WIDEN = 4           # BM25 rows asked of Milvus per row kept (see ``MilvusSnapshot._wide``)
REBUILD_HINT = "run `newsbot index` (or `python -m bot index`) to build it"


class Record(NamedTuple):
    """One passage record as read from the passages collection."""

    passage: Passage
    vector: np.ndarray
    stems: list[str]   # its BM25 stems, in order
    sfirst: int        # the row of its first sentence in ``<build>_s``


class MilvusSnapshot:
    """One published build, read-only and safe to share between threads (``Snapshot`` in ``base``)."""

    def __init__(self, store, name: str, manifest: dict, stats: dict, cache_rows: int = 5_000):
        self.store, self.version, self.manifest = store, name, manifest
        self.sources = [Source.from_dict(s) for s in manifest.get("sources", [])]
        self.size = int(stats["size"])
        self.avgdl = float(stats["avgdl"]) or 1.0
        self.df: dict[str, int] = stats["df"]
        self._vocabulary: dict[str, int] = stats["vocabulary"]
        self.records: RowCache[Record] = RowCache(cache_rows)
        self.sentences: RowCache[np.ndarray] = RowCache(cache_rows)

    def __len__(self) -> int:
        return self.size

    # -- candidates from Milvus -----------------------------------------------------------------

    def dense(self, vector: np.ndarray, k: int) -> np.ndarray:
        k = min(k, self.size, QUERY_LIMIT)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        hits = self.store.call("search", self.version, data=[_vector(vector)], anns_field="vector", limit=k,
                               output_fields=["row"], search_params=self._dense_param(k))
        return _rows(hits)

    def _dense_param(self, k: int) -> dict:
        """Search parameters of the build's dense index: an approximate one looks wider than ``k``."""
        kind = self.manifest.get("dense_index", "flat")
        if kind == "hnsw":
            return {"metric_type": "IP", "params": {"ef": max(128, 4 * k)}}
        if kind == "ivf":
            return {"metric_type": "IP", "params": {"nprobe": 32}}
        return {"metric_type": "IP"}

    def lexical(self, tokens: list[str], k: int, also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        also = np.zeros(0, dtype=np.int64) if also is None else np.asarray(also, dtype=np.int64)
        known = self._known(tokens)
        matched = np.zeros(0, dtype=np.int64)
        if known and self.size:
            hits = self.store.call("search", self.version, data=[" ".join(known)], anns_field="sparse",
                                   limit=self._wide(k), search_params={"metric_type": "BM25"}, output_fields=["row"])
            found = _rows(hits)
            matched = _best(found, self.bm25(tokens, found), k)
        rows = np.union1d(matched, also).astype(np.int64)
        return rows, self.bm25(tokens, rows)

    def candidates(self, tokens: list[str], vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """One ``hybrid_search``: the dense route's ``k`` and the BM25 route's widened list come back fused
        (RRF) in one list, which does not say which route found a row; so both top ``k`` are picked again
        from the rows' own vectors and stems (exact inner product, the build's BM25), as ``lexical`` picks."""
        known = self._known(tokens)
        k = min(k, self.size, QUERY_LIMIT)
        if not known or k <= 0:
            return self.lexical(tokens, k, also=self.dense(vector, k))
        from pymilvus import AnnSearchRequest, RRFRanker

        wide = self._wide(k)
        query = _vector(vector)
        routes = [AnnSearchRequest([query], "vector", self._dense_param(k), k),
                  AnnSearchRequest([" ".join(known)], "sparse", {"metric_type": "BM25"}, wide)]
        found = _rows(self.store.call("hybrid_search", self.version, reqs=routes, ranker=RRFRanker(),
                                      limit=min(k + wide, QUERY_LIMIT), output_fields=["row"]))
        found = np.unique(found)
        scores = self.bm25(tokens, found)
        near = found[np.argsort(-(self.passage_vectors(found) @ query), kind="stable")[:k]]
        rows = np.union1d(near, _best(found, scores, k)).astype(np.int64)
        return rows, scores[np.searchsorted(found, rows)]

    def _known(self, tokens: list[str]) -> list[str]:
        return [t for t in tokens if t in self.df]

    def _wide(self, k: int) -> int:
        """How many BM25 rows to ask Milvus for, to pick the best ``k`` by this build's statistics.

        Milvus Lite scores BM25 per segment, each with its own document count, frequencies and mean
        length (the TODO in ``milvus_lite/engine/collection.py _search_sparse``), so across a build
        flushed into many segments its top ``k`` is not the build's: at 97,881 passages (20 segments)
        it held 94% of it. Rows ranked a little lower by Milvus rise into the top ``k`` once rescored.
        """
        return min(k * LEXICAL_WIDEN if k > 0 else QUERY_LIMIT, self.size, QUERY_LIMIT)

    # -- scores and statistics, from this build's own numbers ----------------------------------

    def bm25(self, tokens: list[str], rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        wanted = Counter(t for t in tokens if t in self.df)
        if not wanted or not len(rows):
            return np.zeros(len(rows), dtype=np.float32)
        idf = {t: self.idf(t) for t in wanted}
        out = np.zeros(len(rows), dtype=np.float32)
        for i, stems in enumerate(r.stems for r in self._fetch(rows)):
            tf = Counter(s for s in stems if s in wanted)
            norm = K1 * (1 - B + B * (len(stems) or 1) / self.avgdl)
            out[i] = sum(wanted[t] * idf[t] * f / (f + norm) for t, f in tf.items())
        return out

    def idf(self, token: str) -> float:
        df = self.df.get(token, 0)
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def knows(self, token: str) -> bool:
        return token in self.df

    def vocabulary(self) -> dict[str, int]:
        return self._vocabulary

    # -- rows ----------------------------------------------------------------------------------

    def passages(self, rows: np.ndarray) -> list[Passage]:
        return [r.passage for r in self._fetch(rows)]

    def passage_vectors(self, rows: np.ndarray) -> np.ndarray:
        got = self._fetch(rows)
        return np.stack([r.vector for r in got]) if got else np.zeros((0, self.manifest["dim"]), dtype=np.float32)

    def sentence_vectors(self, rows: np.ndarray) -> list[np.ndarray]:
        rows = [int(r) for r in np.asarray(rows).ravel()]
        got, missing = self.sentences.get_many(rows)
        if missing:
            # by primary key (srow), from each passage's first sentence row and sentence count
            spans = {r: (rec.sfirst, len(rec.passage.sentences)) for r, rec in zip(missing, self._fetch(missing))}
            ids = [i for first, count in spans.values() for i in range(first, first + count)]
            vectors: dict[int, list[float]] = {}
            for part in parts(ids):
                for rec in self._get(f"{self.version}_s", part, ["srow", "vector"]):
                    vectors[int(rec["srow"])] = rec["vector"]
            if len(vectors) != len(ids):
                raise IndexCorrupt(f"the Milvus build {self.version} lacks sentences it should hold; {REBUILD_HINT}")
            dim = self.manifest["dim"]
            fresh = {r: np.asarray([vectors[i] for i in range(first, first + count)], dtype=np.float32).reshape(-1, dim)
                     for r, (first, count) in spans.items()}
            self.sentences.put_many(fresh)
            got.update(fresh)
        return [got[r] for r in rows]

    def _fetch(self, rows) -> list[Record]:
        """Passage records of ``rows``: from the cache, the rest in one query per 1,000 rows."""
        rows = [int(r) for r in np.asarray(rows).ravel()]
        if any(r < 0 or r >= self.size for r in rows):
            raise IndexError(f"row out of range for {self.size} rows")
        got, missing = self.records.get_many(rows)
        if missing:
            fresh = {}
            for part in parts(missing):
                for rec in self._get(self.version, part, ["row", "sfirst", "passage", "vector", "terms"]):
                    fresh[int(rec["row"])] = Record(Passage.from_dict(json.loads(rec["passage"])),
                                                    np.asarray(rec["vector"], dtype=np.float32),
                                                    rec["terms"].split(), int(rec["sfirst"]))
            if len(fresh) != len(missing):
                raise IndexCorrupt(f"the Milvus build {self.version} lacks rows it should hold; {REBUILD_HINT}")
            self.records.put_many(fresh)
            got.update(fresh)
        return [got[r] for r in rows]

    def _get(self, collection: str, ids: list[int], fields: list[str]) -> list[dict]:
        """Records by primary key (on Milvus Lite a third faster than the same ``in [...]`` query)."""
        return self.store.call("get", collection, ids=ids, output_fields=fields)

    def _query(self, collection: str, expr: str, fields: list[str]) -> list[dict]:
        return self.store.call("query", collection, filter=expr, output_fields=fields, limit=QUERY_LIMIT)

    # -- reuse across builds -------------------------------------------------------------------

    def reusable(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hexes = [k.hex() for k in np.asarray(keys).tolist()]
        vectors: dict[str, list[float]] = {}
        wanted = sorted(set(hexes))
        for collection in (self.version, f"{self.version}_s"):
            for part in parts([h for h in wanted if h not in vectors]):
                for rec in self._query(collection, f"key in {json.dumps(part)}", ["key", "vector"]):
                    vectors.setdefault(rec["key"], rec["vector"])
        mask = np.array([h in vectors for h in hexes], dtype=bool)
        out = np.asarray([vectors[h] for h in hexes if h in vectors], dtype=np.float32)
        return mask, out.reshape(-1, self.manifest["dim"])


def _vector(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float32).ravel()


def _rows(hits) -> np.ndarray:
    """The ``row`` of each hit of a one-query search."""
    return np.array([h["row"] for h in hits[0]], dtype=np.int64)


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` of ``rows`` (all for ``k`` <= 0) with the highest positive ``scores`` (ties: the lower row first)."""
    order = np.lexsort((rows, -scores))[:k] if k > 0 else np.arange(len(rows))
    return rows[order[scores[order] > 0]]


def parts(items: list) -> list[list]:
    return [items[i:i + QUERY_IDS] for i in range(0, len(items), QUERY_IDS)]
