"""Each wording rule of the registry, on a small corpus this file writes: what the rule does, and that
switched off (``BOT_RULES_OFF`` through the registry) it no longer does it. A real index built with the
real model; the articles and questions are invented, so nothing here is tuned to the shipped articles.
"""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.engine import Engine
from retrieval.ingest.articles import is_metadata_line, without_dateline
from retrieval.query.analyse import analyse
from retrieval.rank.search import Evidence
from retrieval.rules import BUILD_RULES, RULES, Rules
from tests.conftest import make_settings

HARBOUR = "\n".join([
    "Portville opens a third container terminal",
    "",
    "Portville, April 11 (Coast Courier) – Tomas Varga, the harbour master, opened the third "
    "container terminal on Monday. Tomas Varga spoke to reporters about the new cranes after the ceremony. "
    "The new terminal stands on land reclaimed from the old fishing quay. "
    "Dock cranes of the new terminal were built abroad and shipped in pieces. "
    "The new cranes run on electricity from a wind farm on the cape. "
    "The terminal can handle one and a half million containers a year. "
    "Tugboats guide the largest ships through the narrow channel at high tide.",
    "",
    "The harbour master said the port has much work ahead. "
    "The first is to deepen the channel so that larger ships can call. "
    "The second is to train local dock workers on the new cranes. "
    "The third is to cut the fumes of idling cranes and trucks. "
    "Officials from the shipping ministry and the city council attended the ceremony.",
    "",
    "Fishermen who used the old quay have moved to a marina on the northern shore. "
    "The marina was paid for by the city council and opened last spring. "
    "Some fishermen complained that the marina is too far from the fish market. "
    "The council promised a shuttle bus between the marina and the market.",
    "",
    "Source: Coast Courier",
])
FESTIVAL = "\n".join([
    "Valley town holds its autumn apple festival",
    "",
    "Hill Gazette 2023-09-30",
    "",
    "Orchard growers from across the valley brought their apples to the town square on Saturday. "
    "Among the guests were Tomas Varga, Lena Osk and the mayor of the valley town. "
    "Children pressed cider in wooden presses and judged the largest apples of the year. "
    "The festival ended with a parade of tractors decorated with ribbons.",
])


LINE = "\n".join([
    "Steppe line opens between two river towns",
    "",
    "The new railway between Korvel and Ostra opened on Saturday after four years of building. "
    "The line cost 2.3 billion US dollars and cuts the journey to six hours. "
    "Trains will run twice a day at first, and four times a day from next year.",
])


def _engines_over(tmp_path_factory, embedder, articles: dict[str, str], names) -> dict[str, Engine]:
    """One index over ``articles`` (file name -> text), and name -> an engine over it with that rule off
    ("" = every rule on)."""
    corpus = tmp_path_factory.mktemp("rule-corpus")
    for file, text in articles.items():
        (corpus / file).write_text(text, encoding="utf-8")
    index = tmp_path_factory.mktemp("rule-index")
    Engine(make_settings(corpus, index), embedder=embedder).build(progress=False)
    out = {}
    for name in names:
        e = Engine(make_settings(corpus, index, rules_off=frozenset({name} - {""})), embedder=embedder)
        e.load()
        out[name] = e
    return out


@pytest.fixture(scope="module")
def engines(tmp_path_factory, embedder):
    """name -> an engine over the small corpus with that rule off ("" = every rule on); the build-time
    rules need builds of their own (``tests/test_build_rules.py``)."""
    return _engines_over(tmp_path_factory, embedder, {"harbour.txt": HARBOUR, "festival.txt": FESTIVAL},
                         ["", *(n for n in RULES if n not in BUILD_RULES)])


def _by_row(ev: Evidence) -> dict:
    return {r.row: r for r in ev.ranked}


def _best(ev: Evidence) -> str:
    top = ev.ranked[0]
    return top.passage.sentences[top.sentence_index].text


def test_every_registered_rule_has_a_module_docstring_saying_why_and_when_it_does_not_fire():
    for rule in RULES.values():
        doc = rule.module.__doc__ or ""
        assert doc.startswith(f"{rule.name}") and "Why" in doc and "not fire" in doc, rule.name
        assert rule.apply is not rule.idle


def test_speller_maps_an_unknown_word_to_the_corpus_word_and_off_leaves_it(engines):
    question = "when did the harbur master open the terminal?"
    assert "harbour" in engines[""]._require()[1].normalise(question)
    assert engines["speller"]._require()[1].normalise(question) == question
    # does not fire on words the articles use
    plain = "who opened the third terminal of the harbour?"
    assert engines[""]._require()[1].normalise(plain) == plain


def test_core_is_embedded_beside_the_question_and_off_only_the_question(engines):
    question = "When did the marina open?"
    assert analyse(question).core == "the marina open"
    assert analyse("marina opening date").core == "marina opening date"  # no wh-phrase: its own core
    assert analyse(question, Rules(frozenset({"core"}))).core == question
    on, off = engines[""].evidence(question), engines["core"].evidence(question)
    # the passage similarity is the nearer of question and core: never lower with the core
    for row, r in _by_row(off).items():
        if row in _by_row(on):
            assert _by_row(on)[row].dense >= r.dense - 1e-6


def test_answer_kinds_add_the_shape_bonus_to_passages_with_a_number_and_off_they_do_not(engines):
    question = "How many containers can the new terminal handle?"
    on, off = engines[""].evidence(question), engines["answer_kinds"].evidence(question)
    assert on.kind == "number" and off.kind == ""
    w = engines[""].weights
    common = _by_row(on).keys() & _by_row(off).keys()
    assert common
    for row in common:
        p = _by_row(on)[row].passage
        # a page's date line ("Hill Gazette 2023-09-30") is no count
        counted = any((any(ch.isdigit() for ch in s.text) or " one " in f" {s.text.lower()} ")
                      and not is_metadata_line(s.text) for s in p.sentences)
        gained = _by_row(on)[row].score - _by_row(off)[row].score
        assert gained == pytest.approx(w.shape if counted else 0.0, abs=1e-6), p.sentences[0].text
    assert "one and a half million" in _best(on)


def test_an_amount_asked_for_is_highlighted_in_the_sentence_that_states_it_after_the_one_naming_the_subject(
        tmp_path_factory, embedder):
    # the first sentence shares the question's words; the next states the sum, "the line" standing for the railway
    engines = _engines_over(tmp_path_factory, embedder, {"line.txt": LINE}, ["", "answer_kinds"])
    question = "how much did the railway between Korvel and Ostra cost?"
    on, off = engines[""].answer(question), engines["answer_kinds"].answer(question)
    assert on.answer_sentence.startswith("The line cost 2.3 billion US dollars")
    assert off.answer_sentence.startswith("The new railway between Korvel and Ostra")
    # a question whose figure the best sentence states keeps it
    assert "four years" in engines[""].answer("how many years did the railway between Korvel and Ostra take to build?").answer_sentence


def test_metadata_reads_the_articles_ends_for_the_outlet_and_off_it_does_not(engines):
    question = "Which newspaper ran the story on the apple festival?"
    on, off = engines[""].answer(question), engines["metadata"].answer(question)
    assert on.debug["kind"] == "outlet" and off.debug["kind"] == ""
    assert not on.declined and "Hill Gazette" in on.answer_sentence
    assert "Hill Gazette" not in off.answer_sentence
    # the words naming the kind say what the answer is, not what it is about: the articles never say
    # "newspaper", and it does not count as unknown to them
    assert "newspap" in analyse(question).tokens and "newspap" not in analyse(question).topic
    assert "newspap" in analyse(question, Rules(frozenset({"metadata"}))).topic
    # does not fire on a question about the article's content
    assert not analyse("What did the harbour master open?").about_article


def test_attribution_sets_the_speakers_words_aside_when_choosing_the_sentence(engines):
    question = "According to Tomas Varga, what do the new cranes run on?"
    a = analyse(question)
    assert {"toma", "varga"} <= a.attribution or {"tomas", "varga"} <= a.attribution
    assert not set(a.content) & a.attribution
    assert analyse(question, Rules(frozenset({"attribution"}))).attribution == frozenset()
    on, off = engines[""].evidence(question), engines["attribution"].evidence(question)
    # the sentence naming the speaker is chosen only when his name counts
    assert "Varga" not in _best(on) and "electricity" in _best(on)
    assert "Varga" in _best(off)
    # does not fire without such a clause
    assert analyse("What do the new cranes run on?").attribution == frozenset()


def test_enumeration_prefers_the_sentence_opening_the_item_and_off_it_does_not(engines):
    question = "What is the second task?"
    on, off = engines[""].evidence(question), engines["enumeration"].evidence(question)
    assert _best(on).startswith("The second is to")
    w = engines[""].weights
    row = on.ranked[0].row
    assert on.ranked[0].score - _by_row(off)[row].score == pytest.approx(w.shape, abs=1e-6)
    # does not fire on a sentence mentioning the ordinal later, nor on a question without one
    assert not analyse(question).item.match("a second round of talks began")
    assert analyse("What is the main task?").item is None


def test_lead_names_credit_the_later_passages_of_the_article_whose_lead_names_the_person(engines):
    question = "What did Tomas Varga say about the fumes of idling cranes?"
    snap, searcher = engines[""]._require()
    tokens = list(analyse(searcher.normalise(question)).tokens)

    def credit(ev: Evidence) -> dict:  # each ranked row's BM25 beyond the index's own for the question
        return {r.row: r.bm25 - float(snap.bm25(tokens, np.array([r.row]))[0]) for r in ev.ranked}
    on, off = credit(engines[""].evidence(question)), credit(engines["lead_names"].evidence(question))
    credited = [row for row, extra in on.items() if extra > 1e-9]
    assert credited
    for row in credited:  # only passages of the harbour article (whose lead names him) that lack the name
        p = snap.passages([row])[0]  # the index's window (the place shown is re-cut around its best sentence)
        assert p.file == "harbour.txt" and "Tomas Varga" not in p.text
    # the festival's guest list names him too, but not in its lead; and off, nothing is credited
    assert all(abs(extra) < 1e-9 for row, extra in on.items() if snap.passages([row])[0].file == "festival.txt")
    assert all(abs(extra) < 1e-9 for extra in off.values())
    assert "fumes" in _best(engines[""].evidence(question))


def test_shape_decline_declines_a_year_question_answered_by_a_weekday_and_off_it_does_not(engines):
    question = "In what year did Tomas Varga open the third container terminal?"
    on, off = engines[""].answer(question), engines["shape_decline"].answer(question)
    assert on.declined and "asks for a year" in on.declined_reason
    assert "states none" not in off.declined_reason


def test_shape_decline_does_not_fire_when_the_sentence_states_a_number(engines):
    answer = engines[""].answer("How many containers can the new terminal handle a year?")
    assert not answer.declined


def test_a_sentence_is_embedded_without_the_dateline_it_opens_with(engines, embedder):
    # where and when the story was filed is not what its first sentence states: a question about the place
    # should not meet the sentence by the dateline's words
    data = engines[""]._require()[0]
    rows = np.arange(len(data))
    for passage, vectors in zip(data.passages(rows), data.sentence_vectors(rows)):
        if passage.sentences[0].text.startswith("Portville, April 11 (Coast Courier)"):
            break
    else:
        raise AssertionError("the dateline sentence was not indexed")
    bare, whole = embedder.encode([without_dateline(passage.sentences[0].text), passage.sentences[0].text])
    assert float(vectors[0] @ bare) > 0.99 > float(vectors[0] @ whole)
    # the sentence that follows it is embedded as it is
    assert float(vectors[1] @ embedder.encode([passage.sentences[1].text])[0]) > 0.99


def test_name_decline_declines_a_who_question_whose_sentence_names_only_the_asked_names(engines):
    question = "Who was a guest at the apple festival with Tomas Varga and Lena Osk?"
    on, off = engines[""].answer(question), engines["name_decline"].answer(question)
    assert on.declined and "name" in on.declined_reason
    assert "names none" not in off.declined_reason
    # does not fire when the sentence names someone new
    assert not engines[""].answer("Who opened the third container terminal in Portville?").declined


TOWER = "\n".join([
    "Island museum reopens its lighthouse wing",
    "",
    "Brightwater, May 3 (Shore Times) – Behind the town hall stands the Keeper's Tower, a lighthouse of "
    "granite blocks on the cliff. It was designed by the engineer Maren Holt and first lit in 1871. "
    "The lamp was replaced with an electric one in 1950. Visitors climb 212 steps to the gallery. "
    "The museum shop sells postcards of the harbour and maps of the coast.",
])
FERRY = "\n".join([
    "Lake ferry keeps its summer timetable",
    "",
    "Northmere, June 2 (Lake Ledger) – The crossing to Heron Island takes twenty minutes and is pleasant "
    "in calm weather. The ferry runs every hour from May to October. It does not run from December to "
    "March, when ice covers the lake. Tickets are sold at the pier kiosk and on board.",
])


@pytest.fixture(scope="module")
def tower_engines(tmp_path_factory, embedder):
    """The lighthouse and the ferry articles: the pronoun and polarity rules' corpus."""
    return _engines_over(tmp_path_factory, embedder, {"tower.txt": TOWER, "ferry.txt": FERRY},
                         ("", "pronoun_context", "negation_decline"))


def test_pronoun_context_lends_a_pronoun_sentence_the_words_of_the_sentence_it_continues(tower_engines):
    from retrieval.text.words import tokenize

    question = "Who designed the Keeper's Tower lighthouse?"
    on, off = tower_engines[""].evidence(question), tower_engines["pronoun_context"].evidence(question)
    assert _best(on).startswith("It was designed by the engineer Maren Holt")
    assert not _best(off).startswith("It was designed")  # alone it holds only "designed" of the question
    # the mechanism: the pronoun sentence's token set holds its predecessor's words, and only that one
    row = on.ranked[0].row
    sets_on, sets_off = tower_engines[""]._searcher._tokens(row)[1], tower_engines["pronoun_context"]._searcher._tokens(row)[1]
    texts = [s.text for s in on.ranked[0].passage.sentences]
    j = next(i for i, t in enumerate(texts) if t.startswith("It was designed"))
    assert set(tokenize("Keeper's Tower")) <= sets_on[j] and not set(tokenize("Keeper's Tower")) <= sets_off[j]
    assert all(sets_on[i] == sets_off[i] for i in range(len(texts)) if i != j)  # "The lamp ...": not a pronoun


def test_pronoun_context_does_not_fire_on_the_first_sentence_or_a_sentence_opening_otherwise():
    rule = Rules().use("pronoun_context")
    texts = ("It opened in May.", "The tower is tall.", "Itself a landmark, it stands alone.")
    tokens = (frozenset({"open", "may"}), frozenset({"tower", "tall"}), frozenset({"landmark", "stand"}))
    assert rule(texts, tokens) == tokens  # first sentence; "The ..."; "Itself" is not "It"
    assert rule(("The tower is tall.", "Its lamp is new."), tokens[1:])[1] == tokens[2] | tokens[1]


def test_negation_decline_declines_a_negated_question_whose_sentence_negates_nothing(engines):
    question = "Which cranes of the new terminal were not built abroad?"
    on, off = engines[""].answer(question), engines["negation_decline"].answer(question)
    assert on.declined and "not so" in on.declined_reason
    assert "not so" not in off.declined_reason
    # "whether or not", "may or may not" negate nothing
    assert not analyse("Were the cranes built abroad or not?").negated
    assert not analyse("Which cranes may or may not run on electricity?").negated


def test_a_negated_question_is_answered_by_the_sentence_that_negates(tower_engines):
    answer = tower_engines[""].answer("When does the ferry to Heron Island not run?")
    assert not answer.declined
    assert "does not run from December" in answer.answer_sentence


def test_negation_decline_declines_a_word_the_sentence_says_without_its_negating_prefix(tower_engines):
    question = "How long is the unpleasant crossing to Heron Island?"
    on, off = tower_engines[""].answer(question), tower_engines["negation_decline"].answer(question)
    assert on.declined and "'unpleasant'" in on.declined_reason, on.declined_reason
    assert "unpleasant" not in off.declined_reason


def test_negation_decline_declines_an_unused_word_whose_antonym_the_sentence_says(tower_engines):
    # "stormy" is no word of the articles; WordNet gives "calm" as its opposite, and the sentence says "calm"
    question = "How long is the crossing to Heron Island in stormy weather?"
    on, off = tower_engines[""].answer(question), tower_engines["negation_decline"].answer(question)
    assert on.declined and "'stormy'" in on.declined_reason, on.declined_reason
    assert not off.declined
    # the sentence's own negation elsewhere does not answer an opposed word; one of its opposite does
    from retrieval.text.polarity import opposed_word
    assert opposed_word("Which crossing is unpleasant?", "The crossing is pleasant, though boats do not run at night.")
    assert not opposed_word("Which crossing is unpleasant?", "The crossing is not pleasant at night.")
    # a word the articles do use is read as asked: "calm" is answered by the calm-weather sentence
    assert not tower_engines[""].answer("How long is the crossing to Heron Island in calm weather?").declined
