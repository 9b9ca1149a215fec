"""The passages behind an answer's "More" button, kept in memory for a while.

Telegram gives a button only 64 bytes of ``callback_data``, far too little for the passages,
so the button carries a random key into a bounded shelf: the oldest answers' passages give
way first (a press on one then gets "ask again"). Only passages are kept: no user or chat ids.

    >>> shelf = Shelf(2)
    >>> key = shelf.keep(("p1", "p2"))
    >>> shelf.get(key)
    ('p1', 'p2')
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")
PREFIX = "more:"  # callback_data of the "More" button: PREFIX + key


class Shelf(Generic[T]):
    """Up to ``size`` items by random key, the least recently kept or read dropped first."""

    def __init__(self, size: int = 1000):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()

    def keep(self, item: T) -> str:
        key = secrets.token_urlsafe(9)  # 12 characters
        self._items[key] = item
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> T | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item
