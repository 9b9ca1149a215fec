"""Ranked evidence -> ``Answer``: the excerpts shown, the highlight, the decline.

The bot declines when the evidence is weak: the best sentence is not close in
meaning to the question and the question's rarer content words are missing
from the best passage (or a date/number question finds no date/number there).
"""

from __future__ import annotations

from dataclasses import dataclass

from .schema import Answer, Hit
from .search import Evidence, Ranked, has_shape

MAX_EXCERPT_CHARS = 1000


@dataclass(frozen=True)
class DeclinePolicy:
    """Thresholds calibrated on the dev questions; see ``benchmarks/calibrate.py``."""

    strong_sentence: float = 0.62   # this close in meaning answers even without shared words
    min_sentence: float = 0.30      # below this nothing is close enough
    min_coverage: float = 0.55      # share (IDF-weighted) of question words the passage holds
    weak_coverage_sentence: float = 0.50  # with low coverage, require at least this similarity


def excerpt(r: Ranked, limit: int = MAX_EXCERPT_CHARS) -> str:
    """The passage trimmed to ``limit`` characters, keeping the best sentence."""
    sents = [s.text for s in r.passage.sentences]
    lo = hi = r.sentence_index
    size = len(sents[lo])
    while True:
        grown = False
        for j in (hi + 1, lo - 1):
            if 0 <= j < len(sents) and size + 1 + len(sents[j]) <= limit:
                size += 1 + len(sents[j])
                lo, hi = min(lo, j), max(hi, j)
                grown = True
        if not grown:
            break
    text = " ".join(sents[lo:hi + 1])
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def decide(ev: Evidence, policy: DeclinePolicy) -> str:
    """Empty string to answer, otherwise the reason for declining."""
    if not ev.ranked:
        return "the index holds no passages"
    top = ev.ranked[0]
    s = top.sentence_dense
    if s >= policy.strong_sentence:
        return ""
    if s < policy.min_sentence:
        return f"no sentence is close in meaning (best similarity {s:.2f})"
    if ev.coverage < policy.min_coverage and s < policy.weak_coverage_sentence:
        return (f"the best passage shares few of the question's key words (coverage {ev.coverage:.2f}) "
                f"and is not close in meaning (similarity {s:.2f})")
    if ev.kind in ("date", "number") and not any(
        has_shape(r.passage.sentences[r.sentence_index].text, ev.kind) for r in ev.ranked[:3]
    ):
        return f"the question asks for a {ev.kind} and the best passages state none"
    return ""


def compose(question: str, ev: Evidence, top_k: int, policy: DeclinePolicy) -> Answer:
    reason = decide(ev, policy)
    hits = tuple(
        Hit(r.passage, r.score, r.passage.sentences[r.sentence_index].text, excerpt(r))
        for r in ev.ranked[:top_k]
    )
    debug = {"coverage": round(ev.coverage, 3), "kind": ev.kind}
    if ev.ranked:
        top = ev.ranked[0]
        debug.update(sentence_similarity=round(top.sentence_dense, 3), passage_similarity=round(top.dense, 3))
    if reason:
        return Answer(question, declined=True, declined_reason=reason, debug=debug)
    return Answer(question, passages=hits, answer_sentence=hits[0].sentence, debug=debug)
