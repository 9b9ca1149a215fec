"""Question -> ranked passages, each with its best sentence, plus the evidence.

Dense scores come from FAISS (passages) and the stored sentence vectors;
lexical scores from BM25. A passage is scored by a weighted sum of its own
similarity, its best sentence's similarity and its normalised BM25 score,
because a factoid answer usually sits in one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .lexical import Lexical, fold, tokenize
from .schema import Passage
from .store import IndexData

# what a question asks for, by its wording; used to prefer sentences of that shape
_TYPE_PATTERNS = {
    "date": re.compile(r"\b(when|what year|which year|what date|which date|what day|which day|what month|which month|how long ago|since when)\b"),
    "number": re.compile(r"\b(how many|how much|how long|how often|how far|what percentage|what percent|what share|what number|how big|how large)\b"),
    "person": re.compile(r"^\s*(who|whom|whose)\b|\bwhich (person|official|minister|president|ambassador|scholar|academic|editor)\b"),
}
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|decades?|twice|once"
_SHAPES = {
    "date": re.compile(rf"\b((19|20)\d\d|{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d{{1,2}}(st|nd|rd|th)|\d+ (years?|months?|days?) ago|yesterday|today)\b"),
    "number": re.compile(rf"\d|\b({_NUMBER_WORDS})\b"),
    "person": re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+"),
}


def question_type(question: str) -> str:
    q = fold(question)
    for kind, pattern in _TYPE_PATTERNS.items():
        if pattern.search(q):
            return kind
    return ""


def has_shape(text: str, kind: str) -> bool:
    if not kind:
        return False
    return bool(_SHAPES[kind].search(text if kind == "person" else fold(text)))


@dataclass(frozen=True)
class Weights:
    """Mix of the evidence; calibrated on the dev questions (see benchmarks/)."""

    passage: float = 0.35
    sentence: float = 0.45
    bm25: float = 0.20
    shape: float = 0.03
    sentence_overlap: float = 0.25
    candidates: int = 30


@dataclass
class Ranked:
    passage: Passage
    row: int
    score: float
    dense: float
    sentence_dense: float
    bm25: float
    sentence_index: int
    sentence_score: float


@dataclass
class Evidence:
    """What the decline decision and the highlight look at."""

    tokens: list[str]
    kind: str
    ranked: list[Ranked] = field(default_factory=list)
    coverage: float = 0.0


class Searcher:
    """Ranks the passages of one loaded index for a question vector."""

    def __init__(self, data: IndexData, weights: Weights = Weights()):
        self.data = data
        self.w = weights
        self._first_sentence = np.concatenate([[0], np.cumsum([len(p.sentences) for p in data.passages])])

    def coverage(self, tokens: list[str], text: str) -> float:
        """IDF-weighted share of the question's content words found in ``text``."""
        if not tokens:
            return 0.0
        present = set(tokenize(text))
        lex: Lexical = self.data.lexical
        total = sum(lex.idf(t) for t in set(tokens))
        found = sum(lex.idf(t) for t in set(tokens) if t in present)
        return found / total if total else 0.0

    def search(self, question: str, qvec: np.ndarray) -> Evidence:
        data, w = self.data, self.w
        tokens = tokenize(question)
        ev = Evidence(tokens=tokens, kind=question_type(question))
        n = len(data.passages)
        if n == 0:
            return ev
        k = min(n, w.candidates)
        dense_scores, dense_rows = data.vectors.search(qvec.reshape(1, -1).astype(np.float32), k)
        bm25 = data.lexical.scores(tokens)
        rows = set(int(r) for r in dense_rows[0] if r >= 0)
        if bm25.any():
            rows.update(int(r) for r in np.argsort(-bm25)[:k])
        rows_list = sorted(rows)
        pvecs = np.vstack([data.vectors.reconstruct(r) for r in rows_list])
        pdense = pvecs @ qvec
        top_bm25 = float(bm25[rows_list].max()) if rows_list else 0.0
        for i, row in enumerate(rows_list):
            p = data.passages[row]
            a, b = self._first_sentence[row], self._first_sentence[row + 1]
            sdense = data.sentence_vectors[a:b] @ qvec
            sscore = np.array([
                float(sdense[j]) + w.sentence_overlap * self.coverage(tokens, s.text)
                + (w.shape if has_shape(s.text, ev.kind) else 0.0)
                for j, s in enumerate(p.sentences)
            ])
            best = int(np.argmax(sscore))
            bnorm = float(bm25[row]) / top_bm25 if top_bm25 > 0 else 0.0
            score = (w.passage * float(pdense[i]) + w.sentence * float(sdense.max())
                     + w.bm25 * bnorm + (w.shape if has_shape(p.sentences[best].text, ev.kind) else 0.0))
            ev.ranked.append(Ranked(p, row, score, float(pdense[i]), float(sdense.max()), float(bm25[row]),
                                    best, float(sscore[best])))
        ev.ranked.sort(key=lambda r: -r.score)
        ev.ranked = _distinct(ev.ranked)
        if ev.ranked:
            ev.coverage = self.coverage(tokens, ev.ranked[0].passage.text)
        return ev


def _distinct(ranked: list[Ranked]) -> list[Ranked]:
    """Drop a passage whose best sentence a higher-ranked passage already shows."""
    out: list[Ranked] = []
    shown: set[tuple[str, int]] = set()
    for r in ranked:
        s = r.passage.sentences[r.sentence_index]
        key = (r.passage.file, s.start)
        if key in shown:
            continue
        shown.add(key)
        out.append(r)
    return out
