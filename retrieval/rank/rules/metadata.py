"""metadata, rank half: for a question about an article's outlet, date or byline (``Analysis.about_article``,
false when the ``metadata`` rule is off), read the first and last passage of each candidate article and
rank the passage holding that line as its article's best.

Why and when: see ``query/rules/metadata.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.rank.search import Ranked


def article_ends(starts: np.ndarray | None, article: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """The first and last passage of each article that ``rows`` come from (``article`` is each row's article,
    ``starts`` where each article's rows begin): where a page keeps its byline and dateline (the first) and its
    "Source: ..." line (the last)."""
    if starts is None or article is None or not len(rows):
        return np.zeros(0, dtype=np.int64)
    return np.union1d(starts[article], starts[article + 1] - 1)


def lift_to_article(ranked: list["Ranked"], shaped: set[int], bonus: float) -> tuple[list["Ranked"], dict[int, int]]:
    """Rank the passage holding the asked-for line as its article's best (plus ``bonus``).

    Returns the ranked passages with the lifted ones re-scored (new records: ``Ranked`` is frozen), and
    lifted row -> the topical row it stands for (whose words then count for the decline).
    """
    article: dict[str, "Ranked"] = {}
    for r in ranked:
        plain = r.score - (bonus if r.row in shaped else 0.0)
        if r.passage.file not in article or plain > article[r.passage.file].score:
            article[r.passage.file] = replace(r, score=plain)
    topical = {}
    out = []
    for r in ranked:
        lead = article[r.passage.file]
        if r.row in shaped and lead.row != r.row:
            r = replace(r, score=lead.score + bonus, sentence_dense=max(r.sentence_dense, lead.sentence_dense))
            topical[r.row] = lead.row
        out.append(r)
    return out, topical
