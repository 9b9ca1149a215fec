"""The answer's ``confidence``: 0-1, higher for an answer its articles state once and plainly than for a
question they do not answer, 0 when declined, and a stored curve that reads the features it was fitted on.
A real index built from a small corpus this file writes, the real model, the real command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.fit_confidence import Observation, fit, folds
from retrieval.answer.confidence import FEATURES, Calibration
from retrieval.answer.decide import DeclinePolicy
from retrieval.engine import Engine
from tests.conftest import make_settings
from tests.test_cli import run

HARBOUR = """Harbour city opens a new container terminal

The city of Portville opened its third container terminal on Monday, the harbour master said. The terminal can handle one and a half million containers a year and employs two thousand dock workers.

Construction of the terminal started in 2019 and was delayed twice by flooding of the old quay. Dock workers' unions welcomed the opening and said wages would rise over the next three years.
"""
ORCHARD = """Apple growers in the valley expect a record harvest

Growers in the Green Valley expect to pick forty thousand tonnes of apples this autumn, the growers' association said. A wet spring and a warm summer helped the trees.

The association's chair, Mara Holt, said cold stores in the valley were already being cleared for the crop. Exports to neighbouring countries are expected to rise by a fifth.
"""
EXACT = "In what year did construction of the Portville container terminal start?"
OFF_TOPIC = "What is the best way to learn to play the violin?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "orchard.txt").write_text(ORCHARD, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def never_declines(corpus, tmp_path_factory, embedder) -> Engine:
    """An engine whose decline never fires, so an off-topic question is answered anyway."""
    engine = Engine(make_settings(corpus, tmp_path_factory.mktemp("index")), embedder=embedder,
                    policy=DeclinePolicy(threshold=-10.0, shape_check=False))
    engine.build(progress=False)
    return engine


def test_an_answer_stated_once_is_more_confident_than_an_off_topic_question_answered_anyway(never_declines):
    exact, off = never_declines.answer(EXACT), never_declines.answer(OFF_TOPIC)
    assert not exact.declined and not off.declined
    assert "2019" in exact.passages[0].text
    assert 0.0 <= off.confidence < exact.confidence <= 1.0


def test_confidence_rises_with_the_lead_over_the_second_passage_and_with_the_asked_shape():
    cal = Calibration.load()
    assert set(FEATURES) == {"margin", "shaped", "dense"}
    p = lambda margin, shaped, dense=0.6: cal.probability({"margin": margin, "shaped": shaped, "dense": dense})  # noqa: E731
    assert 0.0 < p(0.0, 0.0) < p(0.2, 0.0) < p(0.4, 0.0) < 1.0
    assert p(0.1, 1.0) > p(0.1, 0.0)
    assert p(0.1, 0.0, dense=0.8) > p(0.1, 0.0, dense=0.4)  # closer in meaning, likelier right


def test_a_curve_fitted_on_other_features_is_refused_with_the_file_named(tmp_path):
    stale = tmp_path / "confidence.json"
    stale.write_text(json.dumps({"features": ["evidence", "margin"], "weights": {"evidence": 1, "margin": 1},
                                 "bias": 0}), encoding="utf-8")
    with pytest.raises(ValueError, match="confidence.json.*evidence"):
        Calibration.load(stale)


def test_ask_json_has_a_confidence_within_0_and_1_and_0_when_declined(corpus, tmp_path):
    stdin = "How many tonnes of apples do growers expect to pick?\nWhat is the capital of Peru?\n"
    res = run("--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "ask", "-", "--json", stdin=stdin)
    assert res.returncode == 0, res.stderr
    answered, declined = (json.loads(line) for line in res.stdout.splitlines())
    assert not answered["declined"] and 0.0 < answered["confidence"] <= 1.0
    assert declined["declined"] and declined["confidence"] == 0.0


def test_the_fit_puts_weight_on_a_feature_that_tells_right_from_wrong():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(400, 2))
    y = (rng.uniform(0, 1, 400) < x[:, 0]).astype(float)  # only the first feature matters
    w, _ = fit(x, y)
    assert w[0] > 2.0 and abs(w[1]) < 1.0


def test_folds_hold_out_articles_and_spread_off_topic_questions_by_their_text():
    def obs(q, answerable, docs):
        return Observation("p", q, answerable, "", docs, (0.0, 0.0), answerable)
    items = [obs("a1", True, ("a.txt",)), obs("a2", True, ("a.txt",)), obs("b1", True, ("b.txt",)),
             obs("both", True, ("b.txt", "a.txt"))] + [obs(f"off {i}", False, ("a.txt",)) for i in range(40)]
    articles, fold = folds(items)
    assert articles == ["a.txt", "b.txt"]
    assert list(fold[:4]) == [0, 0, 1, 0]
    assert set(fold[4:]) == {0, 1}  # off-topic ones land in both folds, whatever article they name
    assert list(folds(items)[1]) == list(fold)  # the same every run
    assert set(folds(items, near_with_article=True)[1][4:]) == {0}


def test_an_answer_under_the_hedge_line_is_shown_as_the_closest_match_on_every_door(corpus, never_declines,
                                                                                    embedder):
    """The line sits between an off-topic question answered anyway and an answer the articles state plainly:
    only the first is hedged, in the engine's answer, on the console and on Telegram; nothing is declined."""
    from bot.console import Style, render_answer
    from bot.telegram.render import telegram_html
    from retrieval.types import HEDGE

    exact, off = never_declines.answer(EXACT), never_declines.answer(OFF_TOPIC)
    line = (exact.confidence + off.confidence) / 2
    hedging = Engine(never_declines.settings.with_(hedge_below=line), embedder=embedder, policy=never_declines.policy)
    hedging.load()
    sure, unsure = hedging.answer(EXACT), hedging.answer(OFF_TOPIC)
    assert not sure.hedged and unsure.hedged and not unsure.declined
    assert unsure.passages == off.passages, "hedging changes what is said above the answer, not the answer"
    plain = Style(io.StringIO())  # not a terminal: plain text
    assert render_answer(unsure, plain, 80).startswith(HEDGE + "\n")
    assert HEDGE.split(".")[0] not in render_answer(sure, plain, 80)
    assert telegram_html(unsure)[0].startswith(f"<i>{HEDGE}</i>")
    assert HEDGE.split(".")[0] not in telegram_html(sure)[0]
    assert unsure.to_dict()["hedged"] is True and sure.to_dict()["hedged"] is False


def test_a_hedge_line_outside_0_to_1_is_one_clear_error():
    from retrieval.settings import SettingsError, Settings

    for raw in ("1.5", "-0.1", "often"):
        with pytest.raises(SettingsError, match="BOT_HEDGE_BELOW"):
            Settings.from_env(environ={"BOT_HEDGE_BELOW": raw}, dotenv=Path("/nonexistent"))
