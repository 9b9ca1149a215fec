"""The build-time wording rules of the registry (``ingest/rules/``, ``text/rules/``) and the answer-time
``furniture`` rule, on a small corpus this file writes: what each does, that switched off through
``BOT_RULES_OFF`` (``Settings.rules_off``) and a real build it no longer does it, and when it does not
fire; and that a build made with other build rules is rebuilt rather than served stale. A real index
built with the real model; the articles are invented, so nothing here is tuned to the shipped ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval.engine import Engine
from retrieval.rules import BUILD_RULES, RULES, Rules
from retrieval.settings import Settings
from retrieval.text.words import tokenize
from tests.conftest import make_settings
from tests.test_cli import run

FERRY = "\n".join([
    "Island ferry line gets two electric boats",
    "By Marta Lindqvist",
    "Harbour Post 2024-03-14 09:30",
    "",
    "Dunmore, March 14 (Harbour Post) – Oskar Brandt, the chief engineer of the island ferry company, said "
    "on Thursday that two electric boats will enter service on the island line in May. The boats were built "
    "at a yard on the mainland and each carries two hundred passengers and forty cars. The old diesel ferries "
    "will be sold to a company in the south once the new boats have run for a full season.",
    "",
    "Brandt said the batteries of each boat charge in twenty minutes while cars drive on and off at the pier. "
    "The charging station on the island pier draws power from the tidal turbines in the sound. "
    "Engineers tested the first boat in the sound for six weeks during the winter storms. "
    "Brandt added that the crossing will take forty minutes, five minutes less than the diesel ferries.",
    "",
    "Islanders have waited a long time for quieter boats. Fishermen complained for years about the noise and "
    "the smoke of the old ferries in the harbour. The island council paid a third of the cost of the pier "
    "and the charging station, and the national transport fund paid the rest. The company will sell tickets "
    "for the electric boats from the first of April.",
    "For more information, please follow the official account of the Harbour Post.",
])
ORCHARD = "\n".join([
    "Valley orchards report a record cherry harvest",
    "",
    "Valley Town, June 6 (Hill Gazette) – Cherry growers across the valley picked more fruit this spring than "
    "in any year on record, the growers' cooperative said. Warm weeks in April and no late frost let the "
    "blossom set, and the orchards on the southern slopes were picked two weeks early.",
    "",
    "Mr Brandt, a grower on the eastern slope, said his pickers had worked every day for a month. The "
    "cooperative opened a second cold store beside the railway station to keep the cherries fresh until "
    "they are sold in the cities of the north. Prices at the market fell by a fifth as the fruit arrived.",
])
FAIR = "\n".join([
    "Town fair returns to the meadow after two years",
    "",
    "Meadow Courier 2023-09-30",
    "",
    "The town fair returned to the river meadow on Saturday after two years without it. Stalls sold honey, "
    "wool and bread, and a brass band played by the bridge until the evening. Lena Osk and Piet Haro judged "
    "the largest pumpkins of the year, and the winner weighed more than a small car tyre.",
])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("build-rule-corpus")
    for name, text in (("ferry.txt", FERRY), ("orchard.txt", ORCHARD), ("fair.txt", FAIR)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory, embedder):
    """name -> an engine on its own index built with that rule off ("" = every rule on)."""
    out = {}
    for name in ["", *BUILD_RULES]:
        index = tmp_path_factory.mktemp(f"build-rule-index-{name or 'all'}")
        engine = Engine(make_settings(corpus, index, rules_off=frozenset({name} - {""})), embedder=embedder)
        engine.build(progress=False)
        out[name] = engine
    return out


def _passages(engine: Engine) -> list:
    data = engine._require()[0]
    return data.passages(np.arange(len(data)))


def _sentences(engine: Engine, file: str) -> list[str]:
    return [s.text for p in _passages(engine) if p.file == file for s in p.sentences]


def _source(engine: Engine, file: str):
    return next(s for s in engine.sources() if s.file == file)


def test_every_build_rule_runs_at_build_time_and_the_others_do_not():
    assert set(BUILD_RULES) >= {"bylines", "date_lines", "datelines", "name_completion"}
    assert {RULES[n].stage for n in BUILD_RULES} <= {"ingest", "index"}
    assert RULES["furniture"].stage == "compose" and "furniture" not in BUILD_RULES
    assert Rules(frozenset({"speller", "datelines", "bylines"})).build_off == ("bylines", "datelines")


def test_bylines_set_the_line_under_the_headline_aside_as_the_author_and_off_nobody_wrote_it(built):
    on, off = built[""], built["bylines"]
    first = next(p for p in _passages(on) if p.file == "ferry.txt")
    assert first.byline == "By Marta Lindqvist" and first.author == "Marta Lindqvist"
    assert first.sentences[0].text == "By Marta Lindqvist"  # the first passage opens with it
    assert not any(p.author or p.byline for p in _passages(off))
    assert not any("Lindqvist" in t for t in _sentences(off, "ferry.txt"))
    answer = on.answer("Who wrote the article about the electric ferry boats?")
    assert not answer.declined and "Marta Lindqvist" in answer.answer_sentence
    assert "Lindqvist" not in off.answer("Who wrote the article about the electric ferry boats?").answer_sentence


def test_bylines_do_not_fire_on_a_sentence_a_subheading_or_a_long_line():
    byline = Rules().use("bylines")
    assert byline("Reporter: Li Wei") == "Li Wei"
    assert byline("Chinese ambassador to KazakhstanZhang Xiao") == "Zhang Xiao"
    assert byline("Trade with Central Asia") is None          # common words: a subheading
    assert byline("By then the boats had left.") is None     # a sentence
    assert byline("By " + "the old harbour wall " * 3 + "Marta Lindqvist") is None  # longer than ten words
    assert Rules(frozenset({"bylines"})).use("bylines")("By Marta Lindqvist") is None


def test_date_lines_give_the_date_and_outlet_and_stay_as_text_and_off_they_are_dropped(built):
    on, off = built[""], built["date_lines"]
    assert "Harbour Post 2024-03-14 09:30" in _sentences(on, "ferry.txt")
    assert (_source(on, "fair.txt").date, _source(on, "fair.txt").outlet) == ("2023-09-30", "Meadow Courier")
    assert not any("09:30" in t for t in _sentences(off, "ferry.txt"))
    assert not any("2023-09-30" in t for t in _sentences(off, "fair.txt"))
    # the fair states its date nowhere else: off, it has none; the ferry's dateline still gives its own
    assert (_source(off, "fair.txt").date, _source(off, "fair.txt").outlet) == ("", "")
    assert _source(off, "ferry.txt").outlet == "Harbour Post"


def test_date_lines_keep_only_the_date_and_time_of_a_bare_line_and_do_not_fire_on_a_sentence():
    date_line = Rules().use("date_lines")
    bare = date_line("2022-05-20 10:15 0 By")
    assert (bare.date, bare.outlet, "2022-05-20 10:15 0 By"[bare.start:bare.end]) == ("2022-05-20", "", "2022-05-20 10:15")
    assert date_line("The fair returned to the meadow on 2023-09-30 after two years without it.") is None
    assert date_line("Meadow Courier, autumn edition") is None  # no date
    assert Rules(frozenset({"date_lines"})).use("date_lines")("Meadow Courier 2023-09-30") is None


def test_datelines_read_the_date_and_outlet_from_the_storys_opening_and_off_they_do_not(built):
    on, off = built[""], built["datelines"]
    assert (_source(on, "orchard.txt").date, _source(on, "orchard.txt").outlet) == ("June 6", "Hill Gazette")
    assert (_source(off, "orchard.txt").date, _source(off, "orchard.txt").outlet) == ("", "")
    # a page's own date line still gives the date with the rule off
    assert _source(off, "fair.txt").date == "2023-09-30"
    # the text is the same either way: only what the article is said to be changes
    assert _sentences(on, "orchard.txt") == _sentences(off, "orchard.txt")


def test_datelines_read_a_source_named_as_reporting_and_do_not_fire_on_a_place_later_in_a_sentence():
    opening = Rules().use("datelines")
    assert opening(("The ferry ran aground near the pier on Monday, Radio Valley reported.",)).outlet == "Radio Valley"
    later = opening(("Wang Yi arrived in Nur-Sultan, June 6, for talks.",))
    assert (later.date, later.outlet) == ("", "")
    assert opening(("Valley Town, June 6 (Hill Gazette) – Growers picked cherries.",)).date == "June 6"
    assert Rules(frozenset({"datelines"})).use("datelines")(("Valley Town, June 6 (Hill Gazette) – ...",)).date == ""


def _bm25(engine: Engine, word: str, file: str, without: str) -> list[float]:
    """BM25 of ``word`` for each passage of ``file`` whose own text lacks ``without``."""
    data = engine._require()[0]
    rows = np.array([i for i, p in enumerate(_passages(engine)) if p.file == file and without not in p.text])
    assert len(rows)
    return data.bm25(tokenize(word), rows).tolist()


def test_name_completion_indexes_the_full_name_with_passages_using_one_part_and_off_it_does_not(built):
    on, off = built[""], built["name_completion"]
    # the ferry's later passages say "Brandt" alone: with the rule, BM25 finds "Oskar" in them too
    assert all(score > 0 for score in _bm25(on, "Oskar", "ferry.txt", "Oskar"))
    assert all(score == 0 for score in _bm25(off, "Oskar", "ferry.txt", "Oskar"))
    # the passages shown are the same: only the BM25 text changes
    assert [p.text for p in _passages(on)] == [p.text for p in _passages(off)]


def test_name_completion_does_not_fire_across_articles_or_on_names_that_never_stand_alone(built):
    on = built[""]
    # the orchard's "Mr Brandt" is another man: the ferry's "Oskar" stays out of it
    assert _bm25(on, "Oskar", "orchard.txt", "Oskar") == [0.0] * len(_bm25(on, "Oskar", "orchard.txt", "Oskar"))
    fair = [p for p in _passages(on) if p.file == "fair.txt"]
    assert Rules().use("name_completion")(fair) == {}  # "Lena Osk" is only ever said in full


def test_furniture_keeps_the_call_to_action_out_of_the_neighbours_and_the_excerpt_and_off_shows_it(built, corpus):
    on = built[""]
    off = Engine(make_settings(corpus, on.settings.index_dir, rules_off=frozenset({"furniture"})),
                 embedder=on.embedder)
    assert off.ensure_index(progress=False) is None  # an answer-time rule: the same build serves
    question = "When will the company sell tickets for the electric boats?"
    a, b = on.answer(question), off.answer(question)
    assert a.answer_sentence == b.answer_sentence and "first of April" in a.answer_sentence
    assert a.passages[0].after == "" and "please follow" not in a.passages[0].text
    assert "please follow" in b.passages[0].after and "please follow" in b.passages[0].text
    # does not fire on a sentence of the story
    assert not Rules().use("furniture")("The company will sell tickets from the first of April.")
    assert Rules().use("furniture")("For more information, please follow the official account of the Harbour Post.")


def test_a_build_rule_switched_off_rebuilds_reusing_the_unchanged_embeddings_and_back_on_rebuilds_again(
        corpus, tmp_path, embedder):
    index = tmp_path / "index"
    Engine(make_settings(corpus, index), embedder=embedder).build(progress=False)
    env = {"BOT_CORPUS_DIR": str(corpus), "BOT_INDEX_DIR": str(index), "BOT_RULES_OFF": "name_completion"}
    settings = Settings.from_env(environ=env, dotenv=None)
    assert settings.rules_off == {"name_completion"}
    heard: list[str] = []
    off = Engine(settings, embedder=embedder)
    report = off.ensure_index(progress=False, notify=heard.append)
    assert report is not None, "served the index built with every rule on"
    assert heard == ["The index was built with the build rules none off and BOT_RULES_OFF now switches off "
                     "name_completion: rebuilding it"]
    # name completion changes only the BM25 text: every vector is reused by its content hash
    assert report.embedded == 0 and report.reused > 0
    assert off._require()[0].manifest["build_rules_off"] == ["name_completion"]
    assert all(score == 0 for score in _bm25(off, "Oskar", "ferry.txt", "Oskar"))
    assert Engine(settings, embedder=embedder).ensure_index(progress=False) is None  # now current
    # a question-time rule off is no reason to rebuild; every rule back on is
    speller_off = settings.with_(rules_off=frozenset({"name_completion", "speller"}))
    assert Engine(speller_off, embedder=embedder).ensure_index(progress=False) is None
    back = Engine(settings.with_(rules_off=frozenset()), embedder=embedder)
    assert back.ensure_index(progress=False) is not None
    assert back._require()[0].manifest["build_rules_off"] == []
    assert all(score > 0 for score in _bm25(back, "Oskar", "ferry.txt", "Oskar"))


def test_a_build_from_before_the_rules_were_recorded_counts_as_every_rule_on(built, corpus, tmp_path, embedder):
    import shutil

    index = tmp_path / "old"
    shutil.copytree(built[""].settings.index_dir, index)
    manifest = next(index.glob("v-*/manifest.json"))
    data = json.loads(manifest.read_text(encoding="utf-8"))
    del data["build_rules_off"]
    manifest.write_text(json.dumps(data), encoding="utf-8")
    engine = Engine(make_settings(corpus, index), embedder=embedder)
    engine.load()
    assert engine.rules_changed() == ""
    stale = Engine(make_settings(corpus, index, rules_off=frozenset({"bylines"})), embedder=embedder)
    stale.load()
    assert "bylines" in stale.rules_changed()


def test_a_build_cut_by_an_older_text_version_is_served_with_a_notice_and_rebuilt_by_index_reusing_vectors(
        built, corpus, tmp_path, embedder):
    import shutil

    from retrieval.engine import TEXT_VERSION

    index = tmp_path / "older-text"
    shutil.copytree(built[""].settings.index_dir, index)
    manifest = next(index.glob("v-*/manifest.json"))
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["text_version"] == TEXT_VERSION
    del data["text_version"]  # as a build from before the version was recorded
    manifest.write_text(json.dumps(data), encoding="utf-8")
    heard: list[str] = []
    engine = Engine(make_settings(corpus, index), embedder=embedder)
    # a start serves it (no unasked-for rebuild of a large archive), saying what to run
    assert engine.ensure_index(progress=False, notify=heard.append) is None
    assert len(heard) == 1 and "older version of the cleaning" in heard[0] and "newsbot index" in heard[0], heard
    assert engine.answer("Who is the chief engineer of the island ferry company?").passages
    report = engine.build(progress=False)  # what `newsbot index` runs
    assert report.embedded == 0 and report.reused > 0  # this corpus's text did not change
    assert engine._require()[0].manifest["text_version"] == TEXT_VERSION
    heard.clear()
    assert Engine(make_settings(corpus, index), embedder=embedder).ensure_index(progress=False,
                                                                                notify=heard.append) is None
    assert heard == []


def test_a_running_engine_that_picks_up_a_build_made_with_other_build_rules_says_so(
        corpus, tmp_path, embedder, caplog):
    index = tmp_path / "shared"
    serving = Engine(make_settings(corpus, index), embedder=embedder)
    serving.build(progress=False)
    other = Engine(make_settings(corpus, index, rules_off=frozenset({"name_completion"})), embedder=embedder)
    other.build(progress=False)  # another process publishes with name completion off
    with caplog.at_level("WARNING", logger="retrieval.engine"):
        assert serving.reload_if_changed()
    said = [r.getMessage() for r in caplog.records if r.name == "retrieval.engine"]
    assert len(said) == 1 and "name_completion" in said[0] and "next start rebuilds" in said[0], said
    caplog.clear()
    with caplog.at_level("WARNING", logger="retrieval.engine"):
        assert not serving.reload_if_changed()  # nothing new: nothing said
    assert not [r for r in caplog.records if r.name == "retrieval.engine"]


def test_the_command_line_rebuilds_when_bot_rules_off_switches_a_build_rule(built, corpus, tmp_path):
    import shutil

    index = tmp_path / "cli-index"
    shutil.copytree(built[""].settings.index_dir, index)
    res = run("--corpus", str(corpus), "--index-dir", str(index), "ask", "--json", "Who judged the pumpkins?",
              env={"BOT_RULES_OFF": "bylines"})
    assert res.returncode == 0, res.stderr
    assert "build rules none off and BOT_RULES_OFF now switches off bylines: rebuilding it" in res.stderr
    unknown = run("--corpus", str(corpus), "--index-dir", str(index), "ask", "hello", env={"BOT_RULES_OFF": "byline"})
    assert unknown.returncode == 2 and "'byline'" in unknown.stderr and "bylines" in unknown.stderr
    assert "Traceback" not in unknown.stderr and unknown.stderr.strip().count("\n") == 0
