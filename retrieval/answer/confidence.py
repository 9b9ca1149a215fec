"""The ``confidence`` of an answer: the chance that its first passage holds the answer, 0-1.

The decline's evidence score (similarity, coverage, unknown words, BM25) ranks answers well but is
no probability. A logistic curve over it and over the lead of the first passage on the second,
fitted by ``benchmarks/fit_confidence.py`` on the questions about the shipped articles (answered
off-topic questions count as wrong), maps it to one; the fitted numbers live in
``confidence.json`` beside this file, with the set they came from and the calibration measured on
a set they did not (the cross-corpus questions). See docs/quality.md for the table.

>>> Calibration.load().probability({"evidence": 0.6, "margin": 0.1})
0.9...
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

FILE = Path(__file__).with_name("confidence.json")
FEATURES = ("evidence", "margin")  # the decline's evidence score; the first passage's score minus the second's


@dataclass(frozen=True)
class Calibration:
    """``p = 1 / (1 + exp(-(bias + sum(weight * feature))))``."""

    weights: tuple[float, ...] = (0.0,) * len(FEATURES)
    bias: float = 0.0

    @classmethod
    def load(cls, path: Path = FILE) -> "Calibration":
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        weights = tuple(float(d["weights"][f]) for f in FEATURES)
        return cls(weights, float(d["bias"]))

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * float(features[f]) for w, f in zip(self.weights, FEATURES))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
