"""A value built on first use, once, even when threads race for it.

Models load in seconds and the serving threads all ask for them at start-up;
this is the double-checked lock the embedders and the reranker share.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """``lazy()`` builds the value with ``make`` on the first call; later calls take no lock.

    If ``make`` raises, nothing is kept and the next call tries again.
    """

    def __init__(self, make: Callable[[], T]):
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._make()
        return value
