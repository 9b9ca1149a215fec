"""Reading one published Milvus build: candidates from Milvus, scores from the build's own statistics.

A snapshot is pinned to its collection (not the alias), so a build published later does not change
what it answers from. Passage records are fetched once per row and cached (passage, vector, stems),
so a question's passages, vectors and BM25 cost one round trip between them. See ``stores.milvus``.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter

import numpy as np

from retrieval.errors import IndexCorrupt
from retrieval.types import Passage, Source

K1, B = 1.5, 0.75            # bm25s's defaults, which the local store uses
QUERY_IDS = 1000             # ids per ``in [...]`` filter
QUERY_LIMIT = 16384          # Milvus's cap on one query's offset + limit
CACHE_ROWS = 20_000          # passage records a snapshot keeps parsed (questions revisit the same rows)
REBUILD_HINT = "run `newsbot index` (or `python -m bot index`) to build it"


class MilvusSnapshot:
    """One published build, read-only and safe to share between threads (``Snapshot`` in ``base``)."""

    def __init__(self, store, name: str, manifest: dict, stats: dict):
        self.store, self.version, self.manifest = store, name, manifest
        self.sources = [Source.from_dict(s) for s in manifest.get("sources", [])]
        self.size = int(stats["size"])
        self.avgdl = float(stats["avgdl"]) or 1.0
        self.df: dict[str, int] = stats["df"]
        self._vocabulary: dict[str, int] = stats["vocabulary"]
        self._records: dict[int, tuple[Passage, np.ndarray, list[str]]] = {}
        self._sentences: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.size

    # -- candidates from Milvus -----------------------------------------------------------------

    def dense(self, vector: np.ndarray, k: int) -> np.ndarray:
        k = min(k, self.size, QUERY_LIMIT)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        hits = self.store.call("search", self.version, data=[np.asarray(vector, dtype=np.float32).ravel()],
                               anns_field="vector", limit=k, search_params={"metric_type": "IP"})
        return np.array([h["row"] for h in hits[0]], dtype=np.int64)

    def lexical(self, tokens: list[str], k: int, also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        also = np.zeros(0, dtype=np.int64) if also is None else np.asarray(also, dtype=np.int64)
        known = [t for t in tokens if t in self.df]
        matched = np.zeros(0, dtype=np.int64)
        if known and self.size:
            limit = min(k if k > 0 else QUERY_LIMIT, self.size, QUERY_LIMIT)
            hits = self.store.call("search", self.version, data=[" ".join(known)], anns_field="sparse", limit=limit,
                                   search_params={"metric_type": "BM25"})
            matched = np.array([h["row"] for h in hits[0]], dtype=np.int64)
        rows = np.union1d(matched, also).astype(np.int64)
        return rows, self.bm25(tokens, rows)

    # -- scores and statistics, from this build's own numbers ----------------------------------

    def bm25(self, tokens: list[str], rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        wanted = Counter(t for t in tokens if t in self.df)
        if not wanted or not len(rows):
            return np.zeros(len(rows), dtype=np.float32)
        idf = {t: self.idf(t) for t in wanted}
        out = np.zeros(len(rows), dtype=np.float32)
        for i, (_, _, stems) in enumerate(self._fetch(rows)):
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
        return [r[0] for r in self._fetch(rows)]

    def passage_vectors(self, rows: np.ndarray) -> np.ndarray:
        got = self._fetch(rows)
        return np.stack([r[1] for r in got]) if got else np.zeros((0, self.manifest["dim"]), dtype=np.float32)

    def sentence_vectors(self, rows: np.ndarray) -> list[np.ndarray]:
        rows = [int(r) for r in np.asarray(rows).ravel()]
        missing = sorted({r for r in rows if r not in self._sentences})
        found: dict[int, list[tuple[int, list[float]]]] = {r: [] for r in missing}
        for part in parts(missing):
            for rec in self._query(f"{self.version}_s", f"prow in {part}", ["srow", "prow", "vector"]):
                found[int(rec["prow"])].append((int(rec["srow"]), rec["vector"]))
        dim = self.manifest["dim"]
        with self._lock:
            self._bound(self._sentences)
            for r, recs in found.items():
                recs.sort()
                self._sentences[r] = (np.asarray([v for _, v in recs], dtype=np.float32).reshape(-1, dim))
            return [self._sentences[r] for r in rows]

    def _fetch(self, rows) -> list[tuple[Passage, np.ndarray, list[str]]]:
        rows = [int(r) for r in np.asarray(rows).ravel()]
        if any(r < 0 or r >= self.size for r in rows):
            raise IndexError(f"row out of range for {self.size} rows")
        missing = sorted({r for r in rows if r not in self._records})
        fresh = {}
        for part in parts(missing):
            for rec in self._query(self.version, f"row in {part}", ["row", "passage", "vector", "terms"]):
                fresh[int(rec["row"])] = (Passage.from_dict(json.loads(rec["passage"])),
                                          np.asarray(rec["vector"], dtype=np.float32), rec["terms"].split())
        if len(fresh) != len(missing):
            raise IndexCorrupt(f"the Milvus build {self.version} lacks rows it should hold; {REBUILD_HINT}")
        with self._lock:
            self._bound(self._records)
            self._records.update(fresh)
            return [self._records[r] if r in self._records else fresh[r] for r in rows]

    @staticmethod
    def _bound(cache: dict) -> None:
        if len(cache) >= CACHE_ROWS:
            cache.clear()

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


def parts(items: list) -> list[list]:
    return [items[i:i + QUERY_IDS] for i in range(0, len(items), QUERY_IDS)]
