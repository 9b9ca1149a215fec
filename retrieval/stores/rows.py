"""Rows of an on-disk ``.npy`` array, read with ``os.pread`` instead of a memory map.

Every page of a memory-mapped file that a question touches stays in the bot's
resident memory, and from a warm page cache the kernel maps whole large folios:
at 1M passages a few dozen questions left several GB resident. A question needs
a few dozen rows, so reading exactly those costs a system call each and leaves
nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class NpyRows:
    """Read-only rows of a C-ordered ``.npy`` file; indexes like an array along its first axis.

    >>> vectors = NpyRows(folder / "passages.npy")
    >>> vectors[[7, 3, 7]].shape      # rows in the order asked, one read per contiguous run
    (3, 384)
    """

    def __init__(self, path: Path):
        head = np.load(path, mmap_mode="r", allow_pickle=False)  # parses the header; no data page is read
        if not head.flags.c_contiguous:
            raise ValueError(f"{path} is not stored in C order")
        self.path = Path(path)
        self.shape: tuple[int, ...] = head.shape
        self.dtype = head.dtype
        self._offset = int(head.offset)
        self._row_bytes = int(np.prod(head.shape[1:], dtype=np.int64)) * head.dtype.itemsize
        del head
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (clipped to the array) in one read."""
        start, stop = max(0, start), min(len(self), stop)
        count = max(0, stop - start)
        want = count * self._row_bytes
        buf = os.pread(self._fd, want, self._offset + start * self._row_bytes) if want else b""
        if len(buf) != want:
            raise OSError(f"{self.path} is shorter than its header says")
        return np.frombuffer(buf, dtype=self.dtype).reshape((count, *self.shape[1:]))

    def ranges(self, starts, stops) -> np.ndarray:
        """Rows ``starts[i]:stops[i]`` for each i, one after another in one array (ragged tables'
        rows: a passage's terms, its sentences); ranges that touch are read at once.

        One read of bytes per range and one array at the end: an array a range cost ~4 µs more,
        most of scoring a few hundred BM25 candidates.
        """
        starts = np.asarray(starts, dtype=np.int64).ravel()
        stops = np.asarray(stops, dtype=np.int64).ravel()
        if len(starts) and (starts.min() < 0 or stops.max() > len(self) or np.any(stops < starts)):
            raise IndexError(f"a row range out of bounds for {len(self)} rows")
        # a range that starts where the previous one stopped joins it
        joined = np.flatnonzero(starts[1:] != stops[:-1]) + 1
        firsts = starts[np.concatenate([[0], joined])] if len(starts) else starts
        lasts = stops[np.concatenate([joined - 1, [len(stops) - 1]])] if len(stops) else stops
        size, base, fd = self._row_bytes, self._offset, self._fd
        buf = b"".join([os.pread(fd, (b - a) * size, base + a * size)
                        for a, b in zip(firsts.tolist(), lasts.tolist())])
        count = int((stops - starts).sum())
        if len(buf) != count * size:
            raise OSError(f"{self.path} is shorter than its header says")
        return np.frombuffer(buf, dtype=self.dtype).reshape((count, *self.shape[1:]))

    def take(self, rows) -> np.ndarray:
        """Rows in the order given; runs of consecutive rows are read at once."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        if not len(rows):
            return out
        if rows.min() < -len(self) or rows.max() >= len(self):
            raise IndexError(f"row out of range for {len(self)} rows")
        rows = np.where(rows < 0, rows + len(self), rows)
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        out[order] = self.ranges(ordered, ordered + 1)
        return out

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(key)
            return self.read(i, i + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return self.take(np.arange(start, stop, step))
            return self.read(start, stop)
        return self.take(key)

    def __array__(self, dtype=None, copy=None):
        whole = self.read(0, len(self))
        return whole if dtype is None else whole.astype(dtype)
