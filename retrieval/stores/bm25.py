"""BM25 over passages (the scores of bm25s, built by ``bm25_build``), saved beside the vectors as arrays + JSON."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from retrieval.stores.bm25_build import ENTRY as _ENTRY, LexicalSpool
from retrieval.stores.rows import NpyRows

# a question's candidates come from its rarer words' posting lists until this many postings are read;
# the commonest words add little to the ranking and, at 1M passages, were most of the BM25 time
POSTINGS_BUDGET = 200_000


class Lexical:
    """BM25 over passages (the Lucene BM25 of bm25s), plus term IDF and the vocabulary for evidence checks.

    Two tables of the same scores: term -> passages (``postings``) to find candidates, and
    passage -> terms (``forward``) to score given candidates exactly. On disk both are read
    by row (``rows.NpyRows``), so only the lists a question needs are read.
    """

    def __init__(self, terms: dict[str, int], postings, postings_start: np.ndarray, forward,
                 forward_start: np.ndarray, size: int, vocabulary: dict[str, int]):
        self.terms = terms
        self.postings, self.postings_start = postings, postings_start
        self.forward, self.forward_start = forward, forward_start
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
        for name in ("postings", "postings_start", "forward", "forward_start"):
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)))
        meta = {"size": self.size, "terms": self.terms, "vocabulary": self.vocabulary}
        (folder / "terms.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        meta = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        starts = {k: np.load(folder / f"{k}.npy", allow_pickle=False) for k in ("postings_start", "forward_start")}
        postings, forward = NpyRows(folder / "postings.npy"), NpyRows(folder / "forward.npy")
        if postings.dtype != _ENTRY or forward.dtype != _ENTRY:
            raise ValueError("unexpected BM25 table layout")
        return cls(meta["terms"], postings, starts["postings_start"], forward, starts["forward_start"],
                   int(meta["size"]), meta["vocabulary"])

    def search(self, query_tokens: list[str], k: int,
               also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best BM25 rows and the rows in ``also`` (sorted, unique), with each one's BM25.

        Posting lists are read from the rarest word up until ``POSTINGS_BUDGET`` postings: the
        best rows are picked by those words, then every returned row is scored on all of them.
        A word repeated in the question counts twice, as in bm25s.
        """
        also = np.zeros(0, dtype=np.int64) if also is None else np.asarray(also, dtype=np.int64)
        ids = self._ids(query_tokens)
        if not ids or self.size == 0:
            rows = np.unique(also)
            return rows, np.zeros(len(rows), dtype=np.float32)
        scores = np.zeros(self.size, dtype=np.float32)
        read, complete = 0, True
        for n, i in enumerate(ids):
            a, b = int(self.postings_start[i]), int(self.postings_start[i + 1])
            if n and read + (b - a) > POSTINGS_BUDGET:
                complete = False
                break
            read += b - a
            entries = self.postings[a:b]
            scores[entries["id"]] += entries["score"]  # passages are unique within a list
        matched = np.flatnonzero(scores)  # Lucene BM25 is positive wherever a query word occurs
        if 0 < k < len(matched):
            matched = matched[np.argpartition(-scores[matched], k - 1)[:k]]
        rows = np.union1d(matched, also)
        return rows, (scores[rows] if complete else self.score(ids, rows))

    def _ids(self, query_tokens: list[str]) -> list[int]:
        """Term ids of the query's known tokens, rarest first (repeats kept)."""
        return [self.terms[t] for t in sorted((t for t in query_tokens if t in self.terms), key=self.df.__getitem__)]

    def score_rows(self, query_tokens: list[str], rows: np.ndarray) -> np.ndarray:
        """BM25 of the given ``rows`` for the query."""
        ids = self._ids(query_tokens)
        return self.score(ids, rows) if ids else np.zeros(len(rows), dtype=np.float32)

    def score(self, ids: list[int], rows: np.ndarray) -> np.ndarray:
        """Exact BM25 of ``rows`` for the query's term ids (repeats count), from the passage -> terms table."""
        parts = [self.forward[int(self.forward_start[r]):int(self.forward_start[r + 1])] for r in rows]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        entries = np.concatenate(parts)
        owner = np.repeat(np.arange(len(rows)), [len(p) for p in parts])
        wanted = np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(self.terms))
        return np.bincount(owner, weights=wanted[entries["id"]] * entries["score"],
                           minlength=len(rows)).astype(np.float32)

    def idf(self, token: str) -> float:
        """Rarity of a term; unseen terms count as the rarest possible."""
        df = self.df.get(token, 0)
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))
