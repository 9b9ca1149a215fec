"""Candidates -> features: small pure functions, one per feature, each with a name; ``rank/score.py``
combines them with the weights.

Passage-level features are computed for every candidate at once (vectors make that cheap) and kept as
one frozen ``PassageFeatures`` record of per-candidate arrays; ``.of(i)`` is one candidate's. Sentence-level
features are read only for the best ``Weights.scored`` candidates, one frozen ``SentenceFeatures`` each.

>>> saturated_bm25(np.array([0.0, 4.0]), 4.0).tolist()
[0.0, 0.5]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.ingest.articles import is_metadata_line
from retrieval.rank.shapes import has_shape
from retrieval.text.polarity import negates
from retrieval.text.words import fold
from retrieval.types import Passage


def passage_similarity(passage_vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Cosine of each passage (headline + text) with the question or its core, the nearer."""
    return (passage_vectors @ queries).max(axis=1)


def sentence_similarities(sentence_vectors: list[np.ndarray], queries: np.ndarray) -> list[np.ndarray]:
    """Per passage, the cosine of each sentence with each query (question, core): sentences x queries."""
    return [x @ queries for x in sentence_vectors]


def best_sentence_similarity(sims: list[np.ndarray]) -> np.ndarray:
    """Per passage, its closest sentence's similarity (to the nearer query): a factoid sits in one sentence."""
    return np.array([float(x.max()) if len(x) else 0.0 for x in sims], dtype=np.float32)


def context_similarities(vectors: np.ndarray, sims: np.ndarray, own: np.ndarray, weight: float) -> np.ndarray:
    """Per sentence of one passage, its similarity lifted towards that of the pair it makes with the sentence
    before it, when the pair is the closer: ``own + weight * max(0, pair - own)`` (the first keeps its own).
    ``vectors`` are the sentences' unit vectors, ``sims`` their cosines with each query (sentences x queries),
    ``own`` the nearer query's.

    Why: an article names its subject in one sentence and gives the fact in the next ("The Kroc Institute
    ... is dedicated to peace research. The institute was founded in 1986 ..."); a question joins the two,
    and the second alone is far from it. The pair's vector is the two sentences' vectors summed (the
    embeddings are mean-pooled), so nothing more is embedded, and its cosine comes from the sentences' own:
    ``(a.q + b.q) / |a + b|``. Only the sentence after gains: the one before is the subject's own sentence.
    """
    if weight == 0 or len(vectors) < 2:
        return own
    pair = (sims[:-1] + sims[1:]).max(axis=1) / np.sqrt(np.maximum(2.0 + 2.0 * (vectors[:-1] * vectors[1:]).sum(axis=1), 1e-12))
    lifted = own.copy()
    lifted[1:] += weight * np.maximum(0.0, pair - own[1:])
    return lifted


def span_around(lengths: list[int], at: int, limit: int, first: int = 0, last: int | None = None) -> tuple[int, int]:
    """The run ``lo..hi`` of items around item ``at`` whose lengths, joined by one space, fit in ``limit``,
    grown one item at a time, after and then before, within ``first..last``. The excerpt of a passage and
    the place re-cut from an article both grow this way around their best sentence.

    >>> span_around([10, 10, 10, 10], 1, 21), span_around([10, 10, 10, 10], 1, 32)
    ((1, 2), (0, 2))
    """
    last = len(lengths) - 1 if last is None else last
    lo = hi = at
    size = lengths[at]
    grown = True
    while grown:
        grown = False
        for j in (hi + 1, lo - 1):
            if first <= j <= last and size + 1 + lengths[j] <= limit:
                size += 1 + lengths[j]
                lo, hi = min(lo, j), max(hi, j)
                grown = True
    return lo, hi


def word_pairs(tokens: list[str]) -> frozenset[tuple[str, str]]:
    """The adjacent pairs of a token list (content-word stems in order: "harbour master", "master open")."""
    return frozenset(zip(tokens, tokens[1:]))


def phrase_share(asked: frozenset[tuple[str, str]], present: frozenset[tuple[str, str]]) -> float:
    """The share of the question's adjacent word pairs that the passage has adjacent too (``phrase``).

    Why: BM25 and the coverage count words one by one; a passage that says "the main library" or "founded
    the college" in the question's order says what it asks about, where one holding "main", "library" and
    "college" apart may not (term proximity, as in sequential-dependence retrieval models).
    """
    return len(asked & present) / len(asked) if asked else 0.0


def lead_name_credit(asked: frozenset[str], lead: frozenset[str], present: frozenset[str],
                     idf: Callable[[str], float], weight: float) -> float:
    """BM25 credit for the asked names of the article's lead sentence that this passage lacks (``lead_names``)."""
    named = asked & lead
    return weight * sum(idf(t) for t in named - present) if named else 0.0


def saturated_bm25(bm25: np.ndarray, half: float) -> np.ndarray:
    """BM25 squashed to 0-1, ``s / (s + half)``; with ``half`` 0, divided by the best candidate's instead."""
    if half > 0:
        return bm25 / (bm25 + half)
    top = float(bm25.max()) if len(bm25) else 0.0
    return bm25 / top if top > 0 else np.zeros_like(bm25)


def sentence_shapes(p: Passage, kind: str, about_article: bool = False) -> tuple[bool, ...]:
    """Per sentence: does it have the asked-for shape (a date, a number, the article's own outlet...)?

    A page's metadata line ("Steppe Herald 2023-03-14 18:20", "Source: ...") has the shape only for a
    question about the article itself: its date is when the page was posted, not when anything the
    question asks about happened."""
    return tuple(has_shape(s.text, kind, p.outlet, p.date, p.byline) and (about_article or not is_metadata_line(s.text))
                 for s in p.sentences)


FIGURE_KINDS = ("year", "date", "number", "percent", "money")


def onto_stated_figure(best: int, shaped: tuple[bool, ...], kind: str) -> int:
    """The highlight moved onto the next sentence when the question asks for a figure (a year, date, number,
    percentage or amount) that the best sentence lacks and the next one states.

    Why: an article names its subject in one sentence and gives the figure in the next ("The new railway
    between Almaty and Tashkent opened on Saturday ..." / "The line cost 2.3 billion US dollars ..."); the
    first shares the question's words, the second answers it. A name is not moved for: two capitalised
    words are too common a shape to outweigh the words the question shares.
    """
    if kind in FIGURE_KINDS and shaped and not shaped[best] and best + 1 < len(shaped) and shaped[best + 1]:
        return best + 1
    return best


def item_openings(p: Passage, item: re.Pattern | None) -> tuple[bool, ...]:
    """Per sentence: does it open the asked-for item of a list ("Second, ...")? (``enumeration``)"""
    return tuple(bool(item and item.match(fold(s.text))) for s in p.sentences)


def polarities(p: Passage, negated: bool) -> tuple[bool, ...]:
    """Per sentence, for a question that asks what is not so: does it negate something too? () otherwise."""
    return tuple(negates(s.text) for s in p.sentences) if negated else ()


def overlaps(sentence_tokens: tuple[frozenset[str], ...],
             coverage: Callable[[frozenset[str]], float]) -> tuple[float, ...]:
    """Per sentence: the IDF-weighted share of the question's content words it holds."""
    return tuple(coverage(t) for t in sentence_tokens)


@dataclass(frozen=True)
class PassageFeatures:
    """The passage-level features of every candidate, one array entry per candidate row."""

    rows: np.ndarray
    passage: np.ndarray        # passage_similarity
    sentence: np.ndarray       # best_sentence_similarity
    bm25: np.ndarray           # BM25 plus lead_name_credit
    bm25_saturated: np.ndarray  # saturated_bm25

    def of(self, i: int) -> dict[str, float]:
        """One candidate's features, by name."""
        return {"passage": float(self.passage[i]), "sentence": float(self.sentence[i]),
                "bm25": float(self.bm25[i]), "bm25_saturated": float(self.bm25_saturated[i])}


@dataclass(frozen=True)
class SentenceFeatures:
    """The sentence-level features of one candidate read in full, one entry per sentence."""

    similarity: tuple[float, ...]   # to the nearer query
    asked: float                    # the closest sentence's similarity to the question as asked (the decline reads it)
    overlap: tuple[float, ...]      # overlaps
    shaped: tuple[bool, ...]        # sentence_shapes
    opens_item: tuple[bool, ...]    # item_openings
    agrees: tuple[bool, ...] = ()   # polarities; () when the question negates nothing
