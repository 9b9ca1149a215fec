"""The ``confidence`` of an answer: the chance that its first passage holds the answer, 0-1.

The decline's evidence score ranks answers within one corpus but its scale moves with the corpus (BM25
of a 5-article news corpus and of a long encyclopedia article differ), and it is highest exactly for
the near-topic questions that copy an article's words without being answered there. The confidence
reads three features whose scale does not depend on the corpus instead:

- ``margin``: the first passage's lead over the second in the retrieval score, similarities and saturated
  BM25 (each 0-1), before the phrase and shape bonuses (``Ranked.first``): a near tie is a coin toss between
  two places. Read after the bonuses, the lead was a worse guide (held-out, shipped articles: 0.79 right at
  confidence >= 0.8, against 0.89);
- ``shaped``: the question's wording names a kind of answer (a year, a number, a person...) and the
  answer sentence has that shape;
- ``dense``: the first passage's cosine with the question (or its core), 0-1 whatever the corpus. A
  near-topic question copies an article's words (so its BM25 and word shares are high) more than it
  matches a passage's meaning: added to the two above, it lifted the cross-corpus set's precision at
  confidence >= 0.8 from 0.59 to 0.72, held out by article (docs/quality.md).

A logistic curve over them (``p = 1 / (1 + exp(-(bias + sum(weight * feature))))``) is fitted by
``benchmarks/fit_confidence.py`` on both kinds of question set pooled (the shipped news articles'
and the cross-corpus encyclopedia articles'; an answered off-topic question counts as wrong), and
its calibration is measured by leave-one-article-out cross-validation; the numbers live in
``confidence.json`` beside this file. It only annotates: nothing here changes which passage comes
first or whether the bot declines. See docs/quality.md for the tables and what limits them.

>>> cal = Calibration.load()
>>> cal.probability({"margin": 0.3, "shaped": 1.0, "dense": 0.6}) > cal.probability({"margin": 0.0, "shaped": 0.0, "dense": 0.6})
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from retrieval.answer.decide import DeclinePolicy, confidence as evidence_score
from retrieval.rank.search import Evidence
from retrieval.rank.shapes import has_shape

FILE = Path(__file__).with_name("confidence.json")
FEATURES = ("margin", "shaped", "dense")


def features(ev: Evidence, policy: DeclinePolicy) -> dict[str, float]:
    """What the confidence reads (``FEATURES``), plus the decline's evidence score for the debug record."""
    if not ev.ranked:
        return {"evidence": 0.0, "margin": 0.0, "shaped": 0.0, "dense": 0.0}
    top = ev.ranked[0]
    second = ev.ranked[1].first if len(ev.ranked) > 1 else 0.0
    p = top.passage
    sentence = p.sentences[top.sentence_index].text
    shaped = bool(ev.kind) and has_shape(sentence, ev.kind, p.outlet, p.date, p.byline)
    return {"evidence": evidence_score(ev, policy), "margin": top.first - second, "shaped": float(shaped),
            "dense": top.dense}


@dataclass(frozen=True)
class Calibration:
    """``p = 1 / (1 + exp(-(bias + sum(weight * feature))))`` over ``FEATURES``."""

    weights: tuple[float, ...] = (0.0,) * len(FEATURES)
    bias: float = 0.0

    @classmethod
    def load(cls, path: Path = FILE) -> "Calibration":
        """The fitted curve; a file fitted on other features is refused rather than read wrongly."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        stored = tuple(d.get("features", ()))
        if stored != FEATURES:
            raise ValueError(f"{path}: fitted on features {list(stored)}, this code reads {list(FEATURES)}; "
                             "run benchmarks/fit_confidence.py")
        return cls(tuple(float(d["weights"][f]) for f in FEATURES), float(d["bias"]))

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * float(features[f]) for w, f in zip(self.weights, FEATURES))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
