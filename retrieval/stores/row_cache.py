"""A bounded, thread-safe cache of what a snapshot has read from a remote store, keyed by row.

A published build never changes, so a row read once can be served from memory for as long as the
snapshot lives: answers on a news archive revisit the same rows (the passages a topic's questions
land on), and each remote read is a round trip. The cache belongs to one snapshot, so a new build
(a new snapshot) starts with an empty one and never sees the old build's rows.

Least recently used rows go first when it is full, one at a time: clearing it whole would make
the next few answers pay every round trip again at once.

>>> cache = RowCache(2)
>>> cache.put_many({0: "a", 1: "b"}); cache.get_many([0, 1, 5])
({0: 'a', 1: 'b'}, [5])
>>> cache.put_many({2: "c"}); sorted(cache.rows())   # 1 was used least recently
[0, 2]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

V = TypeVar("V")


class RowCache(Generic[V]):
    """Up to ``capacity`` rows; 0 keeps nothing (every read goes to the store)."""

    def __init__(self, capacity: int):
        if capacity < 0:
            raise ValueError(f"a row cache holds 0 or more rows, got {capacity!r}")
        self.capacity = capacity
        self._rows: OrderedDict[int, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # for benchmarks: how much the cache saved

    def __len__(self) -> int:
        return len(self._rows)

    def get_many(self, rows: Iterable[int]) -> tuple[dict[int, V], list[int]]:
        """(the cached rows among ``rows``, the distinct others in ascending order)."""
        found: dict[int, V] = {}
        missing: set[int] = set()
        with self._lock:
            for r in rows:
                if r in found or r in missing:
                    continue
                got = self._rows.get(r)
                if got is None:
                    missing.add(r)
                else:
                    self._rows.move_to_end(r)
                    found[r] = got
            self.hits += len(found)
            self.misses += len(missing)
        return found, sorted(missing)

    def put_many(self, values: dict[int, V]) -> None:
        """Keep ``values``; the least recently used rows make room."""
        if not self.capacity:
            return
        with self._lock:
            for r, v in values.items():
                self._rows[r] = v
                self._rows.move_to_end(r)
            while len(self._rows) > self.capacity:
                self._rows.popitem(last=False)

    def rows(self) -> list[int]:
        with self._lock:
            return list(self._rows)
