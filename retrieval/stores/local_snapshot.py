"""Reading one published version folder of the local store: passages by row, vectors, BM25."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from retrieval.stores.bm25 import Lexical
from retrieval.stores.rows import NpyRows
from retrieval.types import Passage, Source


class PassageTable:
    """Passages read from the JSONL file on demand; a small cache keeps hot rows parsed."""

    def __init__(self, path: Path, offsets: np.ndarray, cache_size: int = 4096):
        self._fd = os.open(path, os.O_RDONLY)  # rows are read with pread: nothing stays mapped (see rows.py)
        self._offsets = offsets
        self._cache: dict[int, Passage] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> Passage:
        got = self._cache.get(row)
        if got is not None:
            return got
        if not 0 <= row < len(self):
            raise IndexError(row)
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        raw = os.pread(self._fd, end - start, start)
        passage = Passage.from_dict(json.loads(raw))
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[row] = passage
        return passage

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


class LocalSnapshot:
    """One published version folder, checked for consistency: the ``Snapshot`` of the local store."""

    def __init__(self, path: Path, manifest: dict, passages: PassageTable, vectors, passage_vectors: NpyRows,
                 sentence_vectors: NpyRows, sentence_start: np.ndarray, keys: NpyRows, lexical: Lexical,
                 sources: list[Source]):
        self.path, self.version, self.manifest, self.sources = path, path.name, manifest, sources
        self.table, self.vectors, self.exact, self.sentences = passages, vectors, passage_vectors, sentence_vectors
        self.sentence_start, self.keys, self.terms = sentence_start, keys, lexical  # terms: the BM25 tables

    def __len__(self) -> int:
        return len(self.table)

    def dense(self, vector: np.ndarray, k: int) -> np.ndarray:
        import faiss

        # one query runs faster on one thread (OpenMP threads only wait on each other, worse when the
        # machine is busy); the setting is per calling thread, so builds elsewhere keep every core
        faiss.omp_set_num_threads(1)
        _, rows = self.vectors.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), min(k, len(self)))
        return rows[0][rows[0] >= 0]

    def lexical(self, tokens: list[str], k: int, also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.terms.search(tokens, k, also=also)

    def candidates(self, tokens: list[str], vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.lexical(tokens, k, also=self.dense(vector, k))

    def bm25(self, tokens: list[str], rows: np.ndarray) -> np.ndarray:
        return self.terms.score_rows(tokens, rows)

    def idf(self, token: str) -> float:
        return self.terms.idf(token)

    def knows(self, token: str) -> bool:
        return token in self.terms.df

    def vocabulary(self) -> dict[str, int]:
        return self.terms.vocabulary

    def passages(self, rows) -> list[Passage]:
        return [self.table[int(r)] for r in rows]

    def passage_vectors(self, rows) -> np.ndarray:
        return np.asarray(self.exact[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def sentence_vectors(self, rows) -> list[np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        first, last = self.sentence_start[rows], self.sentence_start[rows + 1]
        flat = np.asarray(self.sentences.ranges(first, last), dtype=np.float32)  # one array, not one a row
        ends = np.cumsum(last - first).tolist()
        return [flat[a:b] for a, b in zip([0] + ends[:-1], ends)]

    def reusable(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        old = np.asarray(self.keys)
        if not len(old) or not len(keys):
            return np.zeros(len(keys), dtype=bool), np.zeros((0, self.manifest.get("dim", 0)), dtype=np.float32)
        order = np.argsort(old, kind="stable")
        sorted_old = old[order]
        pos = np.minimum(np.searchsorted(sorted_old, keys), len(old) - 1)
        found = sorted_old[pos] == keys
        src = order[pos[found]]
        n = len(self)
        out = np.empty((int(found.sum()), self.exact.shape[1]), dtype=np.float32)
        is_passage = src < n
        out[is_passage] = self.exact.take(src[is_passage])
        out[~is_passage] = self.sentences.take(src[~is_passage] - n)
        return found, out

