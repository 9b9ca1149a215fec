"""Evidence -> the decision: answer, or decline with the reason.

The bot declines when the evidence is weak: the best sentence is not close in meaning to the question and
the question's rarer content words are missing from the best passage (the confidence below its threshold);
or a decline rule of the registry (``answer/rules/``: ``shape_decline``, ``name_decline``,
``negation_decline``) finds the best sentence cannot be the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.rank.search import Evidence
from retrieval.rules import DECLINES, Rules


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
    shape_check: bool = True  # ask the decline rules of the registry (answer/rules/) at all


def confidence(ev: Evidence, policy: DeclinePolicy) -> float:
    """The evidence score the threshold is set on (see ``DeclinePolicy``)."""
    top = ev.ranked[0]
    return (top.sentence_dense + policy.coverage * ev.coverage - policy.unseen * ev.unseen
            + policy.bm25 * top.bm25 / (1.0 + top.bm25))


def decide(ev: Evidence, policy: DeclinePolicy, rules: Rules = Rules()) -> str:
    """Empty string to answer, otherwise the reason for declining."""
    if not ev.ranked:
        return "the index holds no passages"
    top = ev.ranked[0]
    # the sentence the question matches by itself (the highlight may have moved on to the one continuing it),
    # and the highlight
    shown = top.passage.sentences[top.sentence_index].text
    sentence = top.passage.sentences[top.own_index].text if top.own_index >= 0 else shown
    if policy.shape_check and ev.analysis is not None:
        for name in DECLINES:
            reason = rules.use(name)(ev.analysis, sentence, shown)
            if reason:
                return reason
    score = confidence(ev, policy)
    if score < policy.threshold:
        return (f"weak evidence (confidence {score:.2f} < {policy.threshold}: similarity {top.sentence_dense:.2f}, "
                f"{ev.coverage:.0%} of the question's key words found, {ev.unseen:.0%} unknown to the articles)")
    return ""

