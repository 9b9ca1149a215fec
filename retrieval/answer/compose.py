"""Ranked evidence -> ``Answer``: the excerpts shown, the highlight, the decline.

The bot declines when the evidence is weak: the best sentence is not close in
meaning to the question and the question's rarer content words are missing
from the best passage; or a date/number question finds no date/number there, or a date
beside none of the question's words; or a "who / which city" question finds no name there
but those it already used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from retrieval.answer.confidence import Calibration
from retrieval.ingest.furniture import is_furniture
from retrieval.ingest.articles import without_dateline_place
from retrieval.text.words import tokenize
from retrieval.text.names import names_beyond
from retrieval.types import Answer, Hit
from retrieval.rank.search import Evidence, Ranked, asks_for_name, has_shape
from retrieval.rules import Rules

MAX_EXCERPT_CHARS = 1000


@dataclass(frozen=True)
class DeclinePolicy:
    """Weights and threshold of the confidence score; calibrated on the dev questions
    with ``benchmarks/calibrate.py``.

    confidence = best-sentence similarity + coverage * share of question words in the
    passage - unseen * share of question words absent from every article + bm25 * saturated BM25
    score of the best passage. Both shares leave out the commonest English words ("use", "called"):
    having or lacking them says nothing about the topic.
    """

    threshold: float = 0.32
    coverage: float = 0.4
    unseen: float = 0.4
    bm25: float = 0.1
    shape_check: bool = True  # decline date/number questions whose answer states none


def confidence(ev: Evidence, policy: DeclinePolicy) -> float:
    top = ev.ranked[0]
    return (top.sentence_dense + policy.coverage * ev.coverage - policy.unseen * ev.unseen
            + policy.bm25 * top.bm25 / (1.0 + top.bm25))


def excerpt(r: Ranked, limit: int = MAX_EXCERPT_CHARS) -> str:
    """The passage trimmed to ``limit`` characters around the best sentence, starting and ending at a
    sentence of the story: page furniture (a timestamp, a site line, a byline, a call to action) at
    either end is left out unless it is the best sentence itself."""
    sents = [s.text for s in r.passage.sentences]
    story = [j for j, t in enumerate(sents) if not is_furniture(t, r.passage.byline)]
    first = min([r.sentence_index] + story[:1])
    last = max([r.sentence_index] + story[-1:])
    lo = hi = r.sentence_index
    size = len(sents[lo])
    while True:
        grown = False
        for j in (hi + 1, lo - 1):
            if first <= j <= last and size + 1 + len(sents[j]) <= limit:
                size += 1 + len(sents[j])
                lo, hi = min(lo, j), max(hi, j)
                grown = True
        if not grown:
            break
    text = " ".join(sents[lo:hi + 1])
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def decide(ev: Evidence, policy: DeclinePolicy, rules: Rules = Rules()) -> str:
    """Empty string to answer, otherwise the reason for declining."""
    if not ev.ranked:
        return "the index holds no passages"
    top = ev.ranked[0]
    sentence = top.passage.sentences[top.sentence_index].text
    # a "what year" answer needs a year (or "30 years ago"): "on the 27th" or "on Tuesday" does not answer it
    asked = ev.analysis.asked if ev.analysis else ev.kind
    kind = {"published": "date", "percent": "number"}.get(asked, asked)
    if policy.shape_check and rules.on("shape_decline") and kind in ("date", "year", "number") and not has_shape(sentence, kind):
        return f"the question asks for a {kind} and the best passage states none"
    # a date beside nothing the question asked about is another event's ("When was Nur-Sultan renamed?"
    # finding "Nur-Sultan, June 6 (Xinhua) – Wang Yi ... held talks"); a dateline's place is where the
    # story was filed, not what it is about
    if (policy.shape_check and rules.on("dateline_decline") and asked in ("date", "year") and ev.telling
            and not ev.telling & frozenset(tokenize(without_dateline_place(sentence)))):
        return f"the question asks for a {kind} and the best sentence shares none of the question's words"
    if policy.shape_check and rules.on("name_decline") and asks_for_name(ev.question, kind) and not names_beyond(sentence, ev.question):
        return "the question asks for a name and the best passage names none that the question does not"
    score = confidence(ev, policy)
    if score < policy.threshold:
        return (f"weak evidence (confidence {score:.2f} < {policy.threshold}: similarity {top.sentence_dense:.2f}, "
                f"{ev.coverage:.0%} of the question's key words found, {ev.unseen:.0%} unknown to the articles)")
    return ""


def features(ev: Evidence, policy: DeclinePolicy) -> dict[str, float]:
    """What the calibrated confidence reads (``answer/confidence.py``): the evidence score, and how far
    the first passage leads the second (a near tie is a coin toss between two places)."""
    if not ev.ranked:
        return {"evidence": 0.0, "margin": 0.0}
    second = ev.ranked[1].score if len(ev.ranked) > 1 else 0.0
    return {"evidence": confidence(ev, policy), "margin": ev.ranked[0].score - second}


def compose(question: str, ev: Evidence, top_k: int, policy: DeclinePolicy,
            readable: Callable[[str], str] = str, rules: Rules = Rules(),
            calibration: Calibration = Calibration()) -> Answer:
    """The answer to show; ``readable`` mends the displayed sentence and excerpts (see ``Searcher.readable``)."""
    reason = decide(ev, policy, rules)
    hits = tuple(_hit(r, readable) for r in ev.ranked[: 2 * top_k])  # as many again for "More": cheap, all ranked
    hits, more = hits[:top_k], hits[top_k:]
    debug = {"coverage": round(ev.coverage, 3), "unseen": round(ev.unseen, 3), "kind": ev.kind}
    if ev.ranked:
        top = ev.ranked[0]
        seen = features(ev, policy)
        debug.update(sentence_similarity=round(top.sentence_dense, 3), passage_similarity=round(top.dense, 3),
                     **{k: round(v, 3) for k, v in seen.items()})
    if reason:
        return Answer(question, declined=True, declined_reason=reason, debug=debug)
    return Answer(question, passages=hits, answer_sentence=hits[0].sentence, debug=debug, more=more,
                  confidence=round(calibration.probability(seen), 3))


def _hit(r: Ranked, readable: Callable[[str], str]) -> Hit:
    """The shown form of one ranked passage: its best sentence, excerpt and the sentences either side."""
    sents, i = r.passage.sentences, r.sentence_index
    before = readable(sents[i - 1].text) if i > 0 else ""
    after = readable(sents[i + 1].text) if i + 1 < len(sents) else ""
    return Hit(r.passage, r.score, readable(sents[i].text), readable(excerpt(r)), before, after)
