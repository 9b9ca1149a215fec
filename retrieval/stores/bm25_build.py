"""BM25 tables from passages that arrive in batches: term ids spooled to disk, tables made in bounded chunks.

A build used to keep every passage's BM25 text until the end and hand bm25s a list of token
lists for the whole corpus: the biggest part of a build's peak memory (836 MB at 100k passages,
growing with the corpus). Here each batch is tokenised as it comes and its (term id, count) pairs
are appended to a file; at the end two passes over that file make the same tables bm25s made
(the Lucene BM25 of bm25s's defaults, score for score), holding a bounded chunk at a time plus
the per-term arrays.

>>> spool = LexicalSpool(folder / "spool")
>>> spool.add(["first passage text", "second passage text"])   # once a batch
>>> spool.write(folder / "lexical", progress=True)             # the files ``Lexical.load`` reads
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from retrieval.progress import stage
from retrieval.text.words import _content_stems, _fold, _split

K1, B = 1.5, 0.75  # bm25s's defaults (method "lucene"), whose scores the tables reproduce
EMPTY = "<empty>"  # the one term of a passage without content words, so every passage has a row
CHUNK_ENTRIES = 1_000_000  # (passage, term) entries held at a time: ~50 MB of arrays while scoring or gathering
BUCKET_ENTRIES = 4_000_000  # postings gathered per pass over the scored entries: a 32 MB buffer
ENTRY = np.dtype([("id", "<i4"), ("score", "<f4")])  # a (passage or term, BM25 term score) pair


class LexicalSpool:
    """Passages' term ids as they come, on disk; words and terms counted in memory (one entry each).

    Files in ``folder``: ``entries.i32`` holds (term id, count) pairs, each passage's terms in
    ascending id order (the order of the passage -> terms table); ``docs.i32`` holds
    (tokens, distinct terms) per passage. Term ids are given in order of first appearance.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.terms: dict[str, int] = {}
        self.vocabulary: Counter[str] = Counter()  # word -> count, for the question speller
        self.size = 0
        self._entries = open(self.folder / "entries.i32", "wb")
        self._docs = open(self.folder / "docs.i32", "wb")

    def add(self, texts: Iterable[str]) -> None:
        """Tokenise one batch of passages' BM25 texts, as ``Lexical`` tokenises questions' words."""
        owners: list[int] = []
        ids: list[int] = []
        terms = self.terms
        n = 0
        for n, text in enumerate(texts, 1):
            ws = _split(_fold(text))  # one uncached fold per text: a corpus would only flush ``fold``'s cache
            self.vocabulary.update(ws)
            stems = _content_stems(ws) or [EMPTY]
            ids.extend(terms.setdefault(s, len(terms)) for s in stems)
            owners.extend([n - 1] * len(stems))
        if not n:
            return
        owner = np.asarray(owners, dtype=np.int64)
        pairs, counts = np.unique((owner << 32) | np.asarray(ids, dtype=np.int64), return_counts=True)
        entries = np.empty((len(pairs), 2), dtype=np.int32)
        entries[:, 0], entries[:, 1] = pairs & 0xFFFFFFFF, counts
        docs = np.empty((n, 2), dtype=np.int32)
        docs[:, 0] = np.bincount(owner, minlength=n)
        docs[:, 1] = np.bincount(pairs >> 32, minlength=n)
        self._entries.write(entries.tobytes())
        self._docs.write(docs.tobytes())
        self.size += n

    def close(self) -> None:
        for fh in (self._entries, self._docs):
            fh.close()

    def write(self, folder: Path, progress: bool = False) -> None:
        """Write the BM25 tables ``Lexical.load`` reads into ``folder``, then remove the spool."""
        self.close()
        folder.mkdir(parents=True, exist_ok=True)
        n, v = self.size, len(self.terms)
        docs = np.fromfile(self.folder / "docs.i32", dtype=np.int32).reshape(-1, 2)
        lengths, distinct = docs[:, 0].astype(np.int64), docs[:, 1].astype(np.int64)
        forward_start = np.concatenate([[0], np.cumsum(distinct)]).astype(np.int64)
        df = np.zeros(v, dtype=np.int64)
        for _, _, entries in _read_chunks(self.folder / "entries.i32", forward_start, np.int32, 2):
            df += np.bincount(entries[:, 0], minlength=v)
        # as bm25s: each term's idf in double precision, stored as float32; the mean length as numpy's mean
        idf = np.array([math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()], dtype=np.float32)
        mean_length = float(lengths.sum()) / n if n else 1.0
        bar = stage(None, "BM25 scores", progress, "passage", total=n)
        with _NpyWriter(folder / "forward.npy", ENTRY, int(forward_start[-1])) as out:
            for d0, d1, entries in _read_chunks(self.folder / "entries.i32", forward_start, np.int32, 2):
                terms, tf = entries[:, 0], entries[:, 1].astype(np.float32)
                l_d = np.repeat(lengths[d0:d1], distinct[d0:d1])
                # bm25s's expression, element for element: float64 throughout, rounded to float32 once
                tfc = tf / (K1 * ((1 - B) + B * l_d / mean_length) + tf)
                chunk = np.empty(len(terms), dtype=ENTRY)
                chunk["id"], chunk["score"] = terms, idf[terms] * tfc
                out.write(chunk)
                if bar is not None:
                    bar.update(d1 - d0)
        if bar is not None:
            bar.close()
        postings_start = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        bar = stage(None, "BM25 postings", progress, "term", total=v)
        impacts = np.zeros(v, dtype=np.float32)
        with _NpyWriter(folder / "postings.npy", ENTRY, int(postings_start[-1])) as out:
            for t0, t1 in _buckets(df, BUCKET_ENTRIES):
                bucket = _gather(folder / "forward.npy", forward_start, postings_start, t0, t1)
                out.write(bucket)
                impacts[t0:t1] = _list_maxima(bucket["score"], postings_start[t0:t1 + 1] - postings_start[t0])
                if bar is not None:
                    bar.update(t1 - t0)
        if bar is not None:
            bar.close()
        np.save(folder / "impacts.npy", impacts)
        np.save(folder / "postings_start.npy", postings_start)
        np.save(folder / "forward_start.npy", forward_start)
        meta = {"size": n, "terms": self.terms, "vocabulary": dict(self.vocabulary)}
        (folder / "terms.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(self.folder, ignore_errors=True)


class _NpyWriter:
    """A ``.npy`` file of ``rows`` records written in pieces: the header ``np.save`` would write, then the rows."""

    def __init__(self, path: Path, dtype: np.dtype, rows: int):
        self.path, self.dtype, self.rows, self.written = path, dtype, rows, 0
        self.fh = open(path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (rows,)}
        np.lib.format.write_array_header_1_0(self.fh, header)

    def write(self, records: np.ndarray) -> None:
        self.fh.write(np.ascontiguousarray(records, dtype=self.dtype).tobytes())
        self.written += len(records)

    def __enter__(self) -> "_NpyWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()
        if exc[0] is None and self.written != self.rows:
            raise RuntimeError(f"{self.path}: wrote {self.written} rows of {self.rows}")


def impacts_of(postings, postings_start: np.ndarray) -> np.ndarray:
    """Each term's largest score (0 for an empty list), read a bounded chunk of postings at a time;
    for tables written before the build stored them (``impacts.npy``)."""
    impacts = np.zeros(len(postings_start) - 1, dtype=np.float32)
    for t0, t1 in _doc_ranges(postings_start, BUCKET_ENTRIES):
        block = postings[int(postings_start[t0]):int(postings_start[t1])]
        impacts[t0:t1] = _list_maxima(np.asarray(block["score"]), postings_start[t0:t1 + 1] - postings_start[t0])
    return impacts


def _list_maxima(scores: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The largest of ``scores[bounds[i]:bounds[i + 1]]`` for each list i; 0 for an empty one."""
    out = np.zeros(len(bounds) - 1, dtype=np.float32)
    full = np.flatnonzero(np.diff(bounds) > 0)
    if len(full):
        out[full] = np.maximum.reduceat(scores, bounds[full].astype(np.int64))
    return out


def _doc_ranges(start: np.ndarray, limit: int) -> Iterator[tuple[int, int]]:
    """Consecutive passage ranges holding about ``limit`` entries each (a passage is never split)."""
    n = len(start) - 1
    d0 = 0
    while d0 < n:
        d1 = int(np.searchsorted(start, start[d0] + limit, side="right")) - 1
        d1 = min(max(d1, d0 + 1), n)
        yield d0, d1
        d0 = d1


def _read_chunks(path: Path, start: np.ndarray, dtype, width: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first passage, end passage, their entries) read in order from a file of ``width`` values an entry."""
    itemsize = np.dtype(dtype).itemsize * width
    with open(path, "rb") as fh:
        if path.suffix == ".npy":
            np.lib.format.read_magic(fh)
            np.lib.format.read_array_header_1_0(fh)
        for d0, d1 in _doc_ranges(start, CHUNK_ENTRIES):
            count = int(start[d1] - start[d0])
            got = np.fromfile(fh, dtype=dtype, count=count * width)
            if len(got) * np.dtype(dtype).itemsize != count * itemsize:
                raise OSError(f"{path} ends early: passage {d0} onwards is missing")
            yield d0, d1, (got.reshape(-1, width) if width > 1 else got)


def _buckets(df: np.ndarray, limit: int) -> Iterator[tuple[int, int]]:
    """Consecutive term ranges whose postings number about ``limit`` (a term is never split)."""
    yield from _doc_ranges(np.concatenate([[0], np.cumsum(df)]), limit)


def _gather(forward: Path, forward_start: np.ndarray, postings_start: np.ndarray, t0: int, t1: int) -> np.ndarray:
    """The postings of terms ``t0``..``t1`` (each term's passages ascending), from one pass over the
    passage -> terms table: a counting sort, placed by each term's running count."""
    base = int(postings_start[t0])
    out = np.empty(int(postings_start[t1]) - base, dtype=ENTRY)
    cursor = postings_start[t0:t1] - base
    for d0, d1, chunk in _read_chunks(forward, forward_start, ENTRY, 1):
        ids = chunk["id"]
        keep = np.flatnonzero((ids >= t0) & (ids < t1))
        if not len(keep):
            continue
        owner = np.searchsorted(forward_start, keep + forward_start[d0], side="right") - 1
        local = ids[keep] - t0
        order = np.argsort(local, kind="stable")  # passages stay ascending within a term
        local, owner, scores = local[order], owner[order], chunk["score"][keep][order]
        counts = np.bincount(local, minlength=t1 - t0)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        place = cursor[local] + np.arange(len(local)) - first[local]
        out["id"][place], out["score"][place] = owner, scores
        cursor += counts
    return out
