"""BM25 over passages (the scores of bm25s, built by ``bm25_build``), saved beside the vectors as arrays + JSON."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from retrieval.stores.bm25_build import ENTRY as _ENTRY, LexicalSpool, impacts_of
from retrieval.stores.bm25_topk import TopK, top_k
from retrieval.stores.rows import NpyRows


class Lexical:
    """BM25 over passages (the Lucene BM25 of bm25s), plus term IDF and the vocabulary for evidence checks.

    Two tables of the same scores: term -> passages (``postings``) to find candidates, and
    passage -> terms (``forward``) to score given candidates exactly. On disk both are read
    by row (``rows.NpyRows``), so only the lists a question needs are read. ``impacts`` holds
    each term's largest score, which lets the top k skip most of the long lists (``bm25_topk``).
    """

    def __init__(self, terms: dict[str, int], postings, postings_start: np.ndarray, forward,
                 forward_start: np.ndarray, size: int, vocabulary: dict[str, int],
                 impacts: np.ndarray | None = None):
        self.terms = terms
        self.postings, self.postings_start = postings, postings_start
        self.forward, self.forward_start = forward, forward_start
        self.impacts = impacts_of(postings, postings_start) if impacts is None else impacts
        if len(self.impacts) != len(postings_start) - 1:
            raise ValueError(f"{len(self.impacts)} term impacts for {len(postings_start) - 1} terms")
        counts = np.diff(postings_start)
        self.df = {t: int(counts[i]) for t, i in terms.items()}  # passages holding each term
        self.size = size
        self.vocabulary = vocabulary  # word -> count, for the question speller

    @classmethod
    def build(cls, texts: Iterable[str], progress: bool = False) -> "Lexical":
        """The tables of ``texts`` in memory (a build streams batches through ``LexicalSpool`` instead)."""
        with tempfile.TemporaryDirectory(prefix="lexical-") as tmp:
            spool = LexicalSpool(Path(tmp) / "spool")
            spool.add(texts)
            spool.write(Path(tmp) / "lexical", progress)
            lex = cls.load(Path(tmp) / "lexical")
            lex.postings, lex.forward = np.asarray(lex.postings), np.asarray(lex.forward)
        return lex

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("postings", "postings_start", "forward", "forward_start", "impacts"):
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)))
        meta = {"size": self.size, "terms": self.terms, "vocabulary": self.vocabulary}
        (folder / "terms.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        """The tables in ``folder``; an index built before impacts were stored gets them computed
        here, from one pass over the postings (0.8 s at 1M passages)."""
        meta = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        starts = {k: np.load(folder / f"{k}.npy", allow_pickle=False) for k in ("postings_start", "forward_start")}
        postings, forward = NpyRows(folder / "postings.npy"), NpyRows(folder / "forward.npy")
        if postings.dtype != _ENTRY or forward.dtype != _ENTRY:
            raise ValueError("unexpected BM25 table layout")
        stored = folder / "impacts.npy"
        impacts = np.load(stored, allow_pickle=False) if stored.is_file() else None
        return cls(meta["terms"], postings, starts["postings_start"], forward, starts["forward_start"],
                   int(meta["size"]), meta["vocabulary"], impacts)

    def search(self, query_tokens: list[str], k: int,
               also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best BM25 rows (exactly those of exhaustive BM25; ties to the lower row) and the
        rows in ``also``, sorted and unique, with each one's BM25. A word repeated in the question
        counts twice, as in bm25s.
        """
        also = np.zeros(0, dtype=np.int64) if also is None else np.asarray(also, dtype=np.int64)
        ids = self._ids(query_tokens)
        if not ids or self.size == 0:
            rows = np.unique(also)
            return rows, np.zeros(len(rows), dtype=np.float32)
        rows = np.union1d(self.top(ids, k).rows, also)
        return rows, self.score(ids, rows)

    def top(self, ids: list[int], k: int) -> TopK:
        """The ``k`` best rows for term ids (``_ids``), best first, and what the search read."""
        return top_k(self, ids, k)

    def _ids(self, query_tokens: list[str]) -> list[int]:
        """Term ids of the query's known tokens, rarest first (repeats kept)."""
        return [self.terms[t] for t in sorted((t for t in query_tokens if t in self.terms), key=self.df.__getitem__)]

    def score_rows(self, query_tokens: list[str], rows: np.ndarray) -> np.ndarray:
        """BM25 of the given ``rows`` for the query."""
        ids = self._ids(query_tokens)
        return self.score(ids, rows) if ids else np.zeros(len(rows), dtype=np.float32)

    def score(self, ids: list[int], rows: np.ndarray) -> np.ndarray:
        """Exact BM25 of ``rows`` for the query's term ids (repeats count), from the passage -> terms table."""
        rows = np.asarray(rows, dtype=np.int64)
        first, last = self.forward_start[rows], self.forward_start[rows + 1]
        entries = _ranges(self.forward, first, last)
        owner = np.repeat(np.arange(len(rows)), last - first)
        wanted = np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(self.terms))
        return np.bincount(owner, weights=wanted[entries["id"]] * entries["score"],
                           minlength=len(rows)).astype(np.float32)

    def idf(self, token: str) -> float:
        """Rarity of a term; unseen terms count as the rarest possible."""
        df = self.df.get(token, 0)
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _ranges(table, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Entries ``first[i]:last[i]`` of a table on disk (``NpyRows.ranges``) or in memory, in order."""
    if isinstance(table, NpyRows):
        return table.ranges(first, last)
    lengths = last - first
    at = np.repeat(first - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(int(lengths.sum()))
    return table[at]
