"""Features -> scores, with the weights of ``rank/weights.json`` (``Weights``, defined here): the one place
they meet.

A passage's first score is ``passage * passage_similarity + sentence * best_sentence_similarity +
bm25 * saturated_bm25``; the best ``Weights.scored`` are read in full, gain ``phrase`` times the share of the
question's adjacent word pairs they hold adjacent too, and each of their sentences scores
its similarity + ``sentence_overlap * overlap`` + a bonus for the asked-for shape, for opening the
asked-for item and for negating when the question does; the passage gains ``shape`` (``metadata`` for an
article-level question) when any sentence has the shape, and ``shape`` again when one opens the item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from retrieval.rank.features import PassageFeatures, SentenceFeatures

WEIGHTS_FILE = Path(__file__).with_name("weights.json")


@dataclass(frozen=True)
class Weights:
    """Mix of the evidence; calibrated on the dev questions (``benchmarks/calibrate.py``)."""

    passage: float = 0.30         # question vs headline + passage
    sentence: float = 0.30        # question vs the passage's best sentence
    bm25: float = 0.60            # BM25 of headline + passage, saturated: s / (s + bm25_half)
    bm25_half: float = 4.0        # 0: divide by the best candidate's score instead
    shape: float = 0.03           # best sentence has the asked-for shape (date, number, name...)
    metadata: float = 0.10        # "which newspaper / when was the article posted / who edited it": the
                                  # passage holds its article's outlet, date or byline; one without cannot answer
    phrase: float = 0.10          # share of the question's adjacent word pairs adjacent in the passage too
                                  # (``features.phrase_share``; fit_weights.py, leave one article out)
    sentence_overlap: float = 0.75  # highlight: share of question words in the sentence (fit_weights.py: every
                                    # leave-one-article-out fold chose the top of 0-1; 0.75 with shape 0.3 kept declines)
    sentence_shape: float = 0.30    # highlight: the sentence has the asked-for shape
    sentence_context: float = 0.5   # highlight: how far a sentence's similarity rises towards its pair with the
                                    # one before (``features.context_similarities``); fitted by fit_weights.py
    sentence_polarity: float = 0.3  # highlight: the sentence negates, as the question does (``text/polarity.py``;
                                    # as much as the shape: fit_weights.py cannot tell 0-0.4 apart with declines off)
    sentence_metadata: float = 1.0  # highlight: the sentence holds the asked-for outlet, date or byline
    lead_name: float = 0.75       # a name of the article's lead sentence adds this much of its IDF to the BM25 of
                                  # the article's passages that lack it (0.25-0.75 all gained; 0.75: nothing fell)
    candidates: int = 30          # from the vector index and from BM25 each
    scored: int = 12              # of those, how many are read in full (sentences, shape) and ranked

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Weights:
        """The weights in ``rank/weights.json`` (the one place they are set); a field it lacks keeps its default."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"_comment"})
        if unknown:
            raise ValueError(f"{path}: unknown weight(s) {', '.join(unknown)}")
        return cls(**{k: v for k, v in d.items() if k in known})


def first_scores(f: PassageFeatures, w: Weights) -> np.ndarray:
    """Each candidate's score before its sentences are read."""
    return w.passage * f.passage + w.sentence * f.sentence + w.bm25 * f.bm25_saturated


def sentence_scores(f: SentenceFeatures, w: Weights, about_article: bool) -> list[float]:
    """Each sentence's score as the passage's answer sentence; an article's own line (dateline, byline,
    "Source: ...") is the answer itself wherever the passage has one, so it gains more."""
    shape_bonus = w.sentence_metadata if about_article else w.sentence_shape
    return [f.similarity[j] + w.sentence_overlap * f.overlap[j] + (shape_bonus if f.shaped[j] else 0.0)
            + (w.sentence_shape if f.opens_item[j] else 0.0)
            + (w.sentence_polarity if f.agrees and f.agrees[j] else 0.0) for j in range(len(f.similarity))]


def passage_score(first: float, f: SentenceFeatures, w: Weights, about_article: bool, phrase: float = 0.0) -> float:
    """A read candidate's final score: its first score plus the phrase share and the shape and item bonuses."""
    score = first + w.phrase * phrase + ((w.metadata if about_article else w.shape) if any(f.shaped) else 0.0)
    return score + (w.shape if any(f.opens_item) else 0.0)
