"""The exact BM25 top k without reading every posting: MaxScore (Turtle & Flood 1995), as Lucene and PISA do.

Each term's postings carry its largest score (its *impact*, ``impacts``), so the terms a passage has
not been seen with bound what it can still gain. Lists are read from the highest bound down, and
the k-th best exact score among the passages seen so far is a floor (θ) that the answer's k-th
score can only rise above:

1. *Essential* lists are read whole into partial scores, until the bounds of the unread terms sum
   below θ: a passage in none of the lists read cannot reach θ, so no new candidate can appear.
2. The candidates left are those whose partial score plus the unread bounds still reaches θ. The
   remaining (long, common-word) lists are read only while that costs less than exact-scoring
   the candidates one by one; each one read tightens the bound and θ, and so thins the candidates.
3. The survivors are scored exactly (the passage -> terms table) and the best k kept.

No passage that exhaustive BM25 ranks in the top k is dropped: every cut compares an upper bound
with a score some passage really has (with a small margin for float32 sums). Ties at the k-th
score go to the lower row, so the result does not depend on the order lists were read in.

>>> best = top_k(tables, [12, 40, 40], k=30)   # term ids; a repeated term counts twice
>>> best.rows, best.scores                     # best first; ``best.postings`` says how many were read
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

# A bound is only trusted to cut when it is below θ by this share: partial scores are float32 sums
# in another order than the exact ones, so two equal scores can differ in the last bits.
MARGIN = 1e-4
# Reading a posting (a slice of a list, searched for the candidates) costs about this share of
# scoring one candidate exactly (one read of its passage -> terms row): ~4 ns and ~5 µs at 1M passages.
POSTING_COST = 1 / 1000
# Below this many postings a candidate, adding a list to every row beats searching it for each candidate.
DENSE_FROM = 32


class Tables(Protocol):
    """What the search reads: ``Lexical``'s tables."""

    postings: object            # term -> (passage, score) entries, passages ascending; sliceable
    postings_start: np.ndarray  # where each term's list starts (terms + 1 entries)
    impacts: np.ndarray         # each term's largest score
    size: int                   # passages

    def score(self, ids: list[int], rows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class TopK:
    """The best rows, best first, with their exact BM25, and what finding them cost."""

    rows: np.ndarray
    scores: np.ndarray
    postings: int = 0   # postings read
    lists: int = 0      # posting lists read (of the question's distinct terms)
    exact: int = 0      # candidates scored on the passage -> terms table


def top_k(tables: Tables, ids: list[int], k: int) -> TopK:
    """The ``k`` best rows for the query's term ids (repeats count), exactly those of exhaustive BM25."""
    if not ids or k <= 0 or tables.size == 0:
        return TopK(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    terms, weight = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
    bound = tables.impacts[terms].astype(np.float64) * weight
    order = np.argsort(-bound, kind="stable")
    terms, weight, bound = terms[order], weight[order].astype(np.float32), bound[order]
    unread = np.concatenate([np.cumsum(bound[::-1])[::-1], [0.0]])  # unread[j]: bounds of terms j..
    starts = tables.postings_start
    lengths = (starts[terms + 1] - starts[terms]).astype(np.int64)

    def floor(rows: np.ndarray) -> float:
        """The k-th best exact score among ``rows`` (0 when fewer): θ never passes a real score."""
        if len(rows) < k:
            return 0.0
        exact = tables.score(ids, rows)
        return float(np.partition(exact, len(exact) - k)[len(exact) - k])

    # 1. essential lists, whole, into partial scores; ``best`` is the k best partial rows so far
    partial = np.zeros(tables.size, dtype=np.float32)
    best = np.zeros(0, dtype=np.intp)
    theta, read, j = 0.0, 0, 0
    while j < len(terms) and not (j and unread[j] < theta * (1 - MARGIN)):
        got, gain = _read(tables, terms[j], weight[j])
        partial[got] += gain  # contiguous arrays: half the time of scattering the records' fields
        read += len(got)
        now = partial[got]
        if len(best) >= k:  # only a row above the k-th best so far can join the best
            above = now > partial[best].min()
            got, now = got[above], now[above]
        pick = got[np.argpartition(-now, k - 1)[:k]] if len(got) > k else got
        pool = np.unique(np.concatenate([best, pick]))
        best = pool[np.argpartition(-partial[pool], k - 1)[:k]] if len(pool) > k else pool
        theta = max(theta, floor(best))
        j += 1
    # 2. candidates that can still reach θ; the rest of the lists only looked up for them
    # (BM25 is positive wherever a query term occurs: a row at 0 holds none)
    cut = theta * (1 - MARGIN) - unread[j]
    live = np.flatnonzero(partial >= cut) if cut > 0 else np.flatnonzero(partial)
    gained = partial[live]
    while j < len(terms) and len(live) > lengths[j] * POSTING_COST:
        if len(live) * DENSE_FROM > lengths[j]:  # many candidates: add the list to every row, then look
            got, gain = _read(tables, terms[j], weight[j])
            partial[got] += gain
            gained = partial[live]
        else:  # few: find them in the list (its passages ascend)
            got, gain = _read(tables, terms[j], weight[j], np.int32)
            at = np.minimum(np.searchsorted(got, live.astype(np.int32)), len(got) - 1)
            hit = np.flatnonzero(got[at] == live)
            gained[hit] += gain[at[hit]]
            partial[live[hit]] = gained[hit]  # the two stay in step, whichever way the next list goes
        read += len(got)
        j += 1
        if len(live) > k:
            theta = max(theta, floor(live[np.argpartition(-gained, k - 1)[:k]]))
        keep = gained >= theta * (1 - MARGIN) - unread[j]
        live, gained = live[keep], gained[keep]
    # 3. the survivors' exact scores; ties go to the lower row
    exact = tables.score(ids, live)
    order = np.lexsort((live, -exact))[:k]
    return TopK(live[order], exact[order], postings=read, lists=j, exact=len(live))


def _read(tables: Tables, term: int, weight: np.float32, ids=np.intp) -> tuple[np.ndarray, np.ndarray]:
    """One term's posting list as contiguous (passages, scores x the term's count in the query)."""
    entries = tables.postings[int(tables.postings_start[term]):int(tables.postings_start[term + 1])]
    gain = np.ascontiguousarray(entries["score"])
    return entries["id"].astype(ids), (gain * weight if weight != 1 else gain)
