"""The wording-rule registry: each rule can be switched off from configuration, and then does nothing."""

from __future__ import annotations

import json

import pytest

from retrieval.engine import Engine
from retrieval.query.analyse import analyse
from retrieval.rules import RULES, Rules, UnknownRule
from retrieval.settings import Settings, SettingsError
from tests.conftest import SEEDS, make_settings
from tests.test_cli import run


def test_rules_off_is_read_from_the_environment_and_checked_against_the_registry():
    s = Settings.from_env(environ={"BOT_RULES_OFF": "lead_names, enumeration"}, dotenv=None)
    assert s.rules_off == {"lead_names", "enumeration"}
    with pytest.raises(SettingsError, match="'lead_name'.*known: bylines, .*speller"):
        Settings.from_env(environ={"BOT_RULES_OFF": "lead_name"})
    with pytest.raises(UnknownRule):
        Rules(frozenset({"nonsense"}))
    assert all(Rules().on(name) for name in RULES)


def test_an_unknown_rule_in_the_environment_is_one_clear_line(index_copy):
    res = run("--index-dir", str(index_copy), "ask", "hello there", env={"BOT_RULES_OFF": "enumerations"})
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "'enumerations'" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("rule, question, field, on, off", [
    ("answer_kinds", "How many people attended the forum?", "kind", "number", ""),
    ("metadata", "Which newspaper ran the story on the railway?", "kind", "outlet", ""),
    ("attribution", "According to the mayor, what will the bridge cost?", "attribution", {"mayor"}, frozenset()),
    ("core", "When did the bank open its branch?", "core", "the bank open its branch",
     "When did the bank open its branch?"),
])
def test_a_question_rule_switched_off_leaves_the_analysis_plain(rule, question, field, on, off):
    assert getattr(analyse(question), field) == on
    assert getattr(analyse(question, Rules(frozenset({rule}))), field) == off


def test_the_kind_stays_known_to_the_declines_when_its_ranking_rule_is_off():
    a = analyse("In what year did the port open?", Rules(frozenset({"answer_kinds"})))
    assert a.kind == "" and a.asked in ("date", "year")


def test_enumeration_switched_off_finds_no_item():
    q = "What was the second of the four points?"
    assert analyse(q).item.match("second, trade will grow")
    assert analyse(q, Rules(frozenset({"enumeration"}))).item is None


def test_speller_switched_off_leaves_a_misspelt_question_as_typed(seeds_index, embedder):
    on = Engine(make_settings(SEEDS, seeds_index), embedder=embedder)
    off = Engine(make_settings(SEEDS, seeds_index, rules_off=frozenset({"speller"})), embedder=embedder)
    on.load(), off.load()
    question = "when were diplomatik relations established?"
    assert "diplomatik" not in on._require()[1].normalise(question)
    assert off._require()[1].normalise(question) == question


def test_eval_splits_off_topic_declines_by_src_only_when_the_file_says(index_copy, tmp_path):
    rows = [{"q": "when was diplomatic relations established?", "answers": ["1992"], "kind": "in"},
            {"q": "What is the recipe for a chocolate cake?", "answers": [], "kind": "ood", "src": "far"},
            {"q": "When did Kazakhstan first join the Eurovision contest?", "answers": [], "kind": "ood",
             "src": "squad2-impossible"}]
    with_src = tmp_path / "with_src.jsonl"
    with_src.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(json.dumps({k: v for k, v in r.items() if k != "src"}) for r in rows), encoding="utf-8")
    split = run("--index-dir", str(index_copy), "eval", str(with_src))
    assert split.returncode == 0, split.stderr
    assert "questions (answerable / off-topic)  1 / 2" in split.stdout
    assert "near-topic declined (1)" in split.stdout and "far off-topic declined (1)" in split.stdout
    unsplit = run("--index-dir", str(index_copy), "eval", str(plain))
    assert "off-topic declined" in unsplit.stdout and "near-topic" not in unsplit.stdout
