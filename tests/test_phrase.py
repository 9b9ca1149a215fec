"""The phrase share (``Weights.phrase``, ``features.phrase_share``): a passage holding the question's words
side by side, in its order, ranks above one holding the same words apart. Real model, a real index of two
invented articles with the same words.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from retrieval.engine import Engine
from retrieval.rank.features import phrase_share, word_pairs
from retrieval.rank.score import Weights
from retrieval.text.words import tokenize
from tests.conftest import make_settings

TOGETHER = ("Old crane on the quay mended\n\nThe old harbour crane was repaired by the city council last "
            "winter. Workers painted it blue and tested it with a full container.")
APART = ("Council orders a crane for the city\n\nThe council bought a new crane for the city and moved the old "
         "one to the harbour. It was repaired in winter and painted blue.")
QUESTION = "Who repaired the old harbour crane?"


def test_the_share_counts_the_question_word_pairs_found_side_by_side():
    asked = word_pairs(tokenize(QUESTION))
    assert len(asked) == 3                                    # repaired-old, old-harbour, harbour-crane
    assert phrase_share(asked, word_pairs(tokenize(TOGETHER))) == pytest.approx(2 / 3)
    assert phrase_share(asked, word_pairs(tokenize(APART))) == 0.0  # the same words, never side by side
    assert phrase_share(frozenset(), word_pairs(tokenize(TOGETHER))) == 0.0


@pytest.fixture(scope="module")
def engines(tmp_path_factory, embedder):
    corpus, index = tmp_path_factory.mktemp("phrase-corpus"), tmp_path_factory.mktemp("phrase-index")
    (corpus / "together.txt").write_text(TOGETHER, encoding="utf-8")
    (corpus / "apart.txt").write_text(APART, encoding="utf-8")
    Engine(make_settings(corpus, index), embedder=embedder).build(progress=False)
    out = {}
    for name, weights in (("on", Weights.load()), ("off", replace(Weights.load(), phrase=0.0))):
        out[name] = Engine(make_settings(corpus, index), embedder=embedder, weights=weights)
        out[name].load()
    return out


def test_the_passage_with_the_phrase_gains_and_the_one_without_does_not(engines):
    w = Weights.load().phrase
    assert w > 0
    scores = {name: {r.passage.file: r.score for r in e.evidence(e.clean_question(QUESTION)[0]).ranked}
              for name, e in engines.items()}
    assert scores["on"]["together.txt"] - scores["off"]["together.txt"] == pytest.approx(w * 2 / 3, abs=1e-5)
    assert scores["on"]["apart.txt"] == pytest.approx(scores["off"]["apart.txt"], abs=1e-6)
    assert max(scores["on"], key=scores["on"].get) == "together.txt"
