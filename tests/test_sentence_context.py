"""The sentence context (``Weights.sentence_context``, ``features.context_similarities``): a sentence that
continues the one naming the subject is read with it when the highlight is chosen, and the decline rules
still read the sentence the question matches by itself. Real model, a real index of an invented article.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from retrieval.engine import Engine
from retrieval.rank.features import context_similarities
from retrieval.rank.score import Weights
from tests.conftest import make_settings

SUBJECT = "The Varga Institute for Harbour Studies is a new research centre of Portville University."
FACT = "The institute was founded with a gift from the shipping family of Tomas Varga in 2019."
INSTITUTE = "\n".join([
    "Portville University opens a harbour institute",
    "",
    f"{SUBJECT} {FACT} "
    "Its researchers study tides, silt and the wear of quay walls. "
    "Students from the university spend a term at the institute.",
    "",
    "The university also runs a sailing club on the northern shore. "
    "The club has twelve boats and a small workshop.",
])
WHEN = "In what year was the Varga Institute for Harbour Studies opened?"
GIFT = "What gift founded the Varga Institute for Harbour Studies?"  # asks for no figure: the context alone moves it


def test_a_sentence_rises_towards_its_pair_with_the_one_before_and_never_falls(embedder):
    vectors = embedder.encode([SUBJECT, FACT, "The club has twelve boats and a small workshop."])
    query = embedder.encode(["Who paid for the founding of the Varga Institute for Harbour Studies?"]).T
    own = (vectors @ query).max(axis=1)
    lifted = context_similarities(vectors, vectors @ query, own, 0.5)
    assert lifted[0] == own[0]                       # the first has no sentence before it
    assert lifted[1] > own[1]                        # the fact gains from the subject's sentence
    assert np.all(lifted >= own)                     # never lower than its own similarity
    pair = (vectors[0] + vectors[1]) / np.linalg.norm(vectors[0] + vectors[1])
    assert lifted[1] == pytest.approx(own[1] + 0.5 * (float(pair @ query[:, 0]) - own[1]), abs=1e-5)
    assert np.array_equal(context_similarities(vectors, vectors @ query, own, 0.0), own)   # weight 0: off


@pytest.fixture(scope="module")
def engines(tmp_path_factory, embedder):
    """sentence_context as shipped, and 0 (off), over one index of the invented article."""
    corpus, index = tmp_path_factory.mktemp("context-corpus"), tmp_path_factory.mktemp("context-index")
    (corpus / "institute.txt").write_text(INSTITUTE, encoding="utf-8")
    Engine(make_settings(corpus, index), embedder=embedder).build(progress=False)
    out = {}
    for name, weights in (("on", Weights.load()), ("off", replace(Weights.load(), sentence_context=0.0))):
        e = Engine(make_settings(corpus, index), embedder=embedder, weights=weights)
        e.load()
        out[name] = e
    return out


def test_the_highlight_moves_to_the_sentence_continuing_the_subject_and_off_it_stays(engines):
    assert Weights.load().sentence_context > 0
    on, off = (engines[k].evidence(engines[k].clean_question(GIFT)[0]).ranked[0] for k in ("on", "off"))
    assert on.passage.sentences[on.sentence_index].text == FACT
    assert on.passage.sentences[on.own_index].text == SUBJECT      # what the question matches by itself
    assert off.passage.sentences[off.sentence_index].text == SUBJECT
    assert off.own_index == off.sentence_index


def test_a_year_asked_for_moves_the_highlight_onto_the_next_sentence_stating_one_with_or_without_the_context(engines):
    # ``features.onto_stated_figure``: the subject's sentence states no year, the next does
    for k in ("on", "off"):
        top = engines[k].evidence(engines[k].clean_question(WHEN)[0]).ranked[0]
        assert top.passage.sentences[top.sentence_index].text == FACT
        assert top.passage.sentences[top.own_index].text == SUBJECT  # the declines still read this one


def test_the_decline_reads_the_sentence_the_question_matches_by_itself(engines):
    # the subject's sentence states no year: declined with the context as without it, for the same reason
    on, off = engines["on"].answer(WHEN), engines["off"].answer(WHEN)
    assert on.declined and off.declined
    assert "year" in on.declined_reason and on.declined_reason == off.declined_reason
