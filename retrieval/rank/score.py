"""Features -> scores, with the weights of ``rank/weights.json`` (``Weights``): the one place they meet.

A passage's first score is ``passage * passage_similarity + sentence * best_sentence_similarity +
bm25 * saturated_bm25``; the best ``Weights.scored`` are read in full, and each of their sentences scores
its similarity + ``sentence_overlap * overlap`` + a bonus for the asked-for shape and for opening the
asked-for item; the passage gains ``shape`` (``metadata`` for an article-level question) when any sentence
has the shape, and ``shape`` again when one opens the item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from retrieval.rank.features import PassageFeatures, SentenceFeatures

if TYPE_CHECKING:
    from retrieval.rank.search import Weights


def first_scores(f: PassageFeatures, w: "Weights") -> np.ndarray:
    """Each candidate's score before its sentences are read."""
    return w.passage * f.passage + w.sentence * f.sentence + w.bm25 * f.bm25_saturated


def sentence_scores(f: SentenceFeatures, w: "Weights", about_article: bool) -> list[float]:
    """Each sentence's score as the passage's answer sentence; an article's own line (dateline, byline,
    "Source: ...") is the answer itself wherever the passage has one, so it gains more."""
    shape_bonus = w.sentence_metadata if about_article else w.sentence_shape
    return [f.similarity[j] + w.sentence_overlap * f.overlap[j] + (shape_bonus if f.shaped[j] else 0.0)
            + (w.sentence_shape if f.opens_item[j] else 0.0) for j in range(len(f.similarity))]


def passage_score(first: float, f: SentenceFeatures, w: "Weights", about_article: bool) -> float:
    """A read candidate's final score: its first score plus the shape and item bonuses."""
    score = first + ((w.metadata if about_article else w.shape) if any(f.shaped) else 0.0)
    return score + (w.shape if any(f.opens_item) else 0.0)
