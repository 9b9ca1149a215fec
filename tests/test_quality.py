"""Retrieval quality on the dev and held-out questions, with the real model: guards against regressions.

The floors sit at or just under the figures measured when they were set (README, "Answer quality");
raise them when the figures improve. On dev, hit@1, hit@3, sentence hit@1 and wrongly declined meet
the issue's targets (0.90, 0.98, 0.80, 0.03); ood declined is still below its target (0.95).
The held-out and cross-corpus sets are measured, not floored: ``benchmarks/ablate.py`` prints every
set with each wording rule off in turn, and docs/quality.md keeps the table (per-file held-out floors
pinned figures tuned on those files; issue 20 replaces them with measurement).
"""

from __future__ import annotations

import pytest

from retrieval.evaluate import evaluate, read_questions
from tests.conftest import DEV_SET


@pytest.fixture(scope="module")
def report(engine):
    return evaluate(read_questions(DEV_SET), engine.answer)


def test_right_passage_first(report):
    assert report.hit1 >= 0.90


def test_right_passage_in_top_three(report):
    assert report.hit3 >= 0.98


def test_highlighted_sentence_holds_the_answer(report):
    assert report.sentence_hit1 >= 0.87


def test_off_topic_questions_are_declined(report):
    # 0.875 until common English words the articles lack stopped counting as unknown ("called", "else"):
    # dev lost one off-topic decline ("...renamed back to Astana?") while the held-out sets stopped
    # wrongly declining 6 answerable questions of 99, so the trade was taken; 0.875 again since a "who /
    # which city" question whose best sentence names nobody it did not already name is declined; 0.9375
    # since the commonest English words no longer count towards a passage's coverage of the question; 1.0
    # since a date question whose best sentence shares none of its words (but a dateline's place) is declined
    assert report.ood_declined >= 0.95


def test_answerable_questions_are_rarely_declined(report):
    assert report.in_declined <= 0.03


def test_at_most_three_passages_of_at_most_1000_characters(report):
    assert report.max_passages <= 3
    assert report.max_chars <= 1000
