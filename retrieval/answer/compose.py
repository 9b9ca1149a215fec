"""Ranked evidence and the decision -> ``Answer``: the excerpts shown, the highlight, the citations.

The decision (answer or decline, with the reason) is ``answer/decide.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from retrieval.answer.confidence import Calibration, features
from retrieval.answer.decide import DeclinePolicy, confidence, decide  # noqa: F401 (re-exported)
from retrieval.types import Answer, Hit
from retrieval.rank.features import span_around
from retrieval.rank.search import PLACE_CHARS, Evidence, Ranked
from retrieval.rules import Rules

MAX_EXCERPT_CHARS = PLACE_CHARS  # the ranking already cut each place to this around its best sentence


def excerpt(r: Ranked, limit: int = MAX_EXCERPT_CHARS, rules: Rules = Rules()) -> str:
    """The passage trimmed to ``limit`` characters around the best sentence, starting and ending at a
    sentence of the story: page furniture (a timestamp, a site line, a byline, a call to action: the
    ``furniture`` rule) at either end is left out unless it is the best sentence itself."""
    is_furniture = rules.use("furniture")
    sents = [s.text for s in r.passage.sentences]
    story = [j for j, t in enumerate(sents) if not is_furniture(t, r.passage.byline)]
    first = min([r.sentence_index] + story[:1])
    last = max([r.sentence_index] + story[-1:])
    lo, hi = span_around([len(t) for t in sents], r.sentence_index, limit, first, last)
    text = " ".join(sents[lo:hi + 1])
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def compose(question: str, ev: Evidence, top_k: int, policy: DeclinePolicy,
            readable: Callable[[str], str] = str, rules: Rules = Rules(),
            calibration: Calibration = Calibration(), hedge_below: float = 0.0) -> Answer:
    """The answer to show; ``readable`` mends the displayed sentence and excerpts (see ``Searcher.readable``);
    hedged when its confidence is under ``hedge_below`` (``Settings.hedge_below``)."""
    reason = decide(ev, policy, rules)
    # as many again for "More": cheap, all ranked; none to show when declining
    hits = () if reason else tuple(_hit(r, readable, rules) for r in ev.ranked[: 2 * top_k])
    hits, more = hits[:top_k], hits[top_k:]
    debug = {"coverage": round(ev.coverage, 3), "unseen": round(ev.unseen, 3), "kind": ev.kind}
    if ev.ranked:
        top = ev.ranked[0]
        seen = features(ev, policy)
        debug.update(sentence_similarity=round(top.sentence_dense, 3), passage_similarity=round(top.dense, 3),
                     **{k: round(v, 3) for k, v in seen.items()})
    if reason:
        return Answer(question, declined=True, declined_reason=reason, debug=debug)
    sure = round(calibration.probability(seen), 3)
    return Answer(question, passages=hits, answer_sentence=hits[0].sentence, debug=debug, more=more,
                  confidence=sure, hedged=sure < hedge_below)


def _hit(r: Ranked, readable: Callable[[str], str], rules: Rules) -> Hit:
    """The shown form of one ranked passage: its best sentence, excerpt and the sentences either side."""
    sents, i = r.passage.sentences, r.sentence_index
    is_furniture = rules.use("furniture")

    def neighbour(j: int) -> str:  # page furniture (a site line, a timestamp) is no neighbour to show
        ok = 0 <= j < len(sents) and not is_furniture(sents[j].text, r.passage.byline)
        return readable(sents[j].text) if ok else ""

    before, after = neighbour(i - 1), neighbour(i + 1)
    return Hit(r.passage, r.score, readable(sents[i].text), readable(excerpt(r, rules=rules)), before, after)
