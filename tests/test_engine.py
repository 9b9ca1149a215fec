"""The engine on a real FAISS index built from real text with the real model."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from retrieval.engine import Engine
from retrieval.errors import IndexCorrupt, IndexMismatch, IndexMissing
from retrieval.query.speller import Speller
from retrieval.rank.search import asks_for_name, attribution_words, enumeration_item, has_shape, question_core, question_kind
from retrieval.stores.local import POINTER, checksum
from tests.conftest import SEEDS, make_settings


def test_first_answer_to_diplomatic_relations_question_states_1992_with_citation(engine):
    answer = engine.answer("when was diplomatic relations established?")
    assert not answer.declined
    top = answer.passages[0]
    assert "1992" in top.text
    assert "1992" in answer.answer_sentence
    assert top.passage.file == "001_c0144ea105606dd7.txt"
    assert top.passage.title.startswith("30 years of diplomatic relations")
    assert top.passage.outlet == "Seetao" and top.passage.date == "2022-01-03"
    assert len(answer.passages) == 3
    assert len({(h.passage.file, h.sentence) for h in answer.passages}) == 3


def test_speller_fixes_typos_but_not_real_words_the_articles_lack():
    speller = Speller({"ready": 5, "keen": 3, "than": 9, "areas": 2}, known=frozenset({"keep", "thank", "area"}))
    assert speller.correct("redy") == "ready"
    assert speller.correct("keep") == "keep" and speller.correct("thank") == "thank"
    assert speller.correct("area") == "areas"  # an inflection of itself is still fine


def test_speller_leaves_a_typo_of_a_real_word_the_articles_lack_rather_than_make_it_another_word():
    # "redy" is "ready" with a letter left out, likelier than "Rudy" (the articles' name) with one struck;
    # the articles lack "ready", so the word stays as typed (and counts as unknown to them)
    speller = Speller({"rudy": 4, "tokayev": 3}, known=frozenset({"ready", "token"}))
    assert speller.correct("redy") == "redy"
    assert speller.correct("tokayv") == "tokayev"  # no real word is a likelier slip: the articles' word
    assert Speller({"rudy": 4}).correct("redy") == "rudy"  # without a vocabulary of real words, as before


def test_speller_prefers_a_dropped_or_swapped_letter_to_a_struck_one():
    speller = Speller({"with": 90, "which": 20, "their": 5, "there": 50, "house": 5, "hours": 30})
    assert speller.correct("wich") == "which"   # a letter left out, though "with" is commoner
    assert speller.correct("thier") == "their"  # two letters swapped, though "there" is commoner
    assert speller.correct("hous") == "hours"   # the same kind of edit: the commoner word


@pytest.mark.parametrize("question, core", [
    ("When did the bank open its branch?", "the bank open its branch"),
    ("In which city was the summit held?", "city was the summit held"),
    ("How many people attended?", "people attended"),
    ("Was China among the first?", "China among the first"),
    ("Ties have moved beyond what, according to Xi?", "Ties have moved beyond what, according to Xi"),
])
def test_question_core_drops_the_leading_wh_phrase_and_auxiliary(question, core):
    assert question_core(question) == core


@pytest.mark.parametrize("question, kind", [
    ("In what year did Beijing and Astana open diplomatic ties?", "year"),
    ("which year was the treaty signed", "year"),
    ("When did the talks take place?", "date"),
    ("What dates were set for the state visit?", "date"),
    ("how many students study in China?", "number"),
    ("By what factor has trade grown?", "number"),
    ("by what percentage did exports rise?", "percent"),
    ("What share of the trade goes by rail?", "percent"),
    ("which news agency carried the story?", "outlet"),
    ("Which Chinese paper first ran the op-ed?", "outlet"),
    ("what state news agency filed the story?", "outlet"),
    ("What did the paper say about trade?", ""),
    ("Which well-known academic attended?", "person"),
    ("who is the ambassador?", "person"),
    ("When was the article about the roundtable posted?", "published"),
    ("when did the agency put out its report on the talks?", "published"),
    ("When did the flights run?", "date"),
    ("When was the treaty written?", "date"),
    ("Who edited the piece on the anniversary?", "byline"),
    ("who was the author of the op-ed?", "byline"),
    ("what is the belt and road?", ""),
    ("how much did the new bridge cost?", "money"),
    ("How much money was raised for the museum?", "money"),
    ("what was the annual budget of the festival?", "money"),
    ("how much cargo goes through the port?", "number"),
    ("how much did trade grow?", "number"),
])
def test_question_kind_names_the_answer_shape(question, kind):
    assert question_kind(question)[0] == kind


def test_common_words_the_articles_lack_do_not_count_as_unknown(engine):
    # the articles never say "called", one of the commonest English words: that says nothing about the
    # topic, and counting it as unknown put this answerable question at the edge of a decline
    question = "what was the roundtable in Almaty called?"
    assert "call" in engine.evidence(question).tokens
    assert engine.evidence(question).unseen == 0.0
    assert not engine.answer(question).declined
    # a rarer word the articles lack still counts: the question may be about something else
    assert engine.evidence("which currency do they use in kazakhstan?").unseen > 0.5


def test_a_question_naming_a_page_by_its_subject_finds_that_pages_outlet(engine):
    # "published", "article" and "outlet" are no story's words: they name the page, so they are neither the
    # question's topic nor words the articles lack; the roundtable is the topic
    question = "which outlet published the article about the roundtable?"
    assert engine.evidence(question).unseen == 0.0
    answer = engine.answer(question)
    assert not answer.declined and answer.passages[0].passage.outlet == "China News Service"
    when = engine.answer("when was the article about the roundtable published?")
    assert not when.declined and "2022-05-29" in when.answer_sentence
    # a page about what the articles do not cover is still declined
    assert engine.answer("which outlet published the article about the World Cup final?").declined


def test_describing_words_before_the_answer_kind_still_count_as_topic():
    assert question_kind("Which well-known academic attended the roundtable?") == ("person", {"academ"})


def test_a_how_many_question_wants_a_count_not_a_year_ordinal_or_code():
    assert has_shape("About 60 people attended the meeting", "number")
    assert has_shape("trade rose 9.2% to 1,000 tons", "number")
    assert has_shape("over thirty years", "number")
    for text in ("On the 27th local time", "the Beijing 2022 Winter Olympics", "5G networks", "the G20 summit"):
        assert not has_shape(text, "number"), text
    # a count with a unit or magnitude, in a compound, or a fraction is a count too
    for text in ("the 14-story library", "a $400m renovation", "3bn yuan of trade", "a 10km road",
                 "grew by more than half"):
        assert has_shape(text, "number"), text


def test_a_percentage_question_wants_a_percentage_not_any_number():
    assert has_shape("trade rose 9.2% year on year", "percent")
    assert has_shape("up 12 percent", "percent") and has_shape("a 3 per cent fall", "percent")
    assert not has_shape("trade grew more than 60 times", "percent")
    assert has_shape("trade grew more than 60 times", "number")


def test_an_amount_question_wants_a_sum_of_money_not_any_number():
    for text in ("The line cost 2.3 billion US dollars", "a $400m renovation", "€12 million", "1.2 million yuan",
                 "worth RMB 300 million", "USD 5bn of loans", "paid 40 dollars"):
        assert has_shape(text, "money"), text
    for text in ("after four years of building", "9,000 tons of grain", "up 12 percent", "two billion people"):
        assert not has_shape(text, "money"), text


def test_bylines_and_datelines_have_their_own_shape():
    assert has_shape("Editor/Ma Xue", "byline") and has_shape("By Jane Doe", "byline")
    assert not has_shape("By contrast, trade grew", "byline")
    assert has_shape("2022-05-20", "published", date="2022-05-20")
    assert not has_shape("On 2021-05-20 the talks began", "published", date="2022-05-20")


def test_a_year_question_wants_a_year_not_any_date():
    assert has_shape("Since the establishment of diplomatic relations in 1992, ties grew", "year")
    assert has_shape("Since the establishment of diplomatic relations 30 years ago", "year")
    assert not has_shape("The talks were held on Tuesday, June 6", "year")
    assert has_shape("The talks were held on Tuesday, June 6", "date")


def test_an_ordinal_is_a_day_of_the_month_but_not_an_anniversary():
    # "on what date was the summit held?" must not be answered by "the summit marking the 30th anniversary"
    assert has_shape("On the 27th local time, the consulate held a roundtable", "date")
    assert has_shape("a state visit from September 10th to 12th", "date")
    for text in ("the summit marking the 30th anniversary of ties", "in the 21st century", "for the 3rd time"):
        assert not has_shape(text, "date"), text


@pytest.mark.parametrize("question, named", [
    ("Who met the consul general?", True),
    ("Which well-known academic attended?", True),
    ("which chinese region borders the country?", True),
    ("What state-owned companies signed deals?", True),
    ("What kind of country is Kazakhstan?", False),   # a description, not a name
    ("whose attention has the relationship drawn?", False),  # "the world's" is as likely as a name
    ("who is Tokayev?", False),  # asks what he is, not for another name
    ("Who's Jiang Wei", False),
    ("who is the president of the bank?", True),
    ("Which newspaper ran the op-ed?", False),  # the outlet has a check of its own
    ("what did the two sides agree on?", False),
])
def test_which_questions_ask_for_a_name(question, named):
    assert asks_for_name(question, question_kind(question)[0]) == named


def test_a_when_question_whose_verb_comes_before_the_article_is_about_the_article():
    # "put out its piece on X": the verb first; "Seetao" and the piece's topic stay topic words
    kind, kind_words = question_kind("When exactly did Seetao put out its piece on three decades of ties?")
    assert kind == "published" and "seetao" not in kind_words and "decad" not in kind_words


def test_engine_speller_knows_the_model_vocabulary(engine):
    assert engine.evidence("will Kazakhstan keep being a friend, redy to help?").question == \
        "will Kazakhstan keep being a friend, ready to help?"


def test_off_topic_question_is_declined_with_a_reason(engine):
    answer = engine.answer("What is the best recipe for banana bread?")
    assert answer.declined and answer.declined_reason
    assert answer.passages == () and answer.answer_sentence == ""


def test_an_ordinal_question_matches_the_sentence_opening_that_item_of_a_list():
    second = enumeration_item("What was the second of the four points?")
    assert second.match("the second is to trade more") and second.match("secondly, trade more")
    assert not second.match("a second round of talks began")
    assert enumeration_item("when did they meet?") is None


def test_attribution_names_the_speaker_not_the_content():
    assert attribution_words("what values have they kept, per the consul general in almaty?") == \
        {"consul", "general", "almati"}
    assert attribution_words("According to Zhang Xiao, how have ties developed?") == {"zhang", "xiao"}
    assert attribution_words("How did Kazakhstan's per capita income grow?") == frozenset()
    # a leading clause setting the scene, before the wh-word (with or without a preposition)
    assert attribution_words("When Xi met Tokayev in Beijing, what did he say?") == {"xi", "met", "tokayev", "beij"}
    assert attribution_words("At the roundtable, on what footing did ties grow?") == {"roundtabl"}
    assert attribution_words("What did Xi say, and when?") == frozenset()


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01", "?!... 🙂🙂", "\u200b\u200f"])
def test_unusable_questions_get_a_notice_not_a_search(engine, question):
    answer = engine.answer(question)
    assert answer.declined and answer.unusable
    assert answer.notice


@pytest.mark.parametrize("message, reply", [
    ("hello", "Hello!"), ("Hi there!", "Hello!"), ("good morning", "Hello!"),
    ("thanks!", "welcome"), ("Thank you so much.", "welcome"), ("Hey, thanks", "welcome"), ("bye", "Goodbye"),
])
def test_greetings_and_thanks_get_a_friendly_word_not_a_search(engine, message, reply):
    # "thanks!" used to be answered with the passage where Jiang Wei thanked the participants
    answer = engine.answer(message)
    assert answer.unusable and reply in answer.notice and answer.passages == ()


def test_a_question_that_starts_with_thanks_is_still_answered(engine):
    assert not engine.answer("thanks to what has trade grown so much?").declined


@pytest.mark.parametrize("message", ["hello, when were diplomatic relations established?",
                                     "hey bot when were diplomatic relations established? thanks!",
                                     "Hi there - when were diplomatic relations established, please?"])
def test_a_greeting_or_thanks_around_a_question_does_not_change_its_answer(engine, message):
    plain = engine.answer("when were diplomatic relations established?")
    polite = engine.answer(message)
    assert not polite.declined and polite.answer_sentence == plain.answer_sentence


def test_other_script_gets_an_english_only_notice(engine):
    answer = engine.answer("Когда были установлены дипломатические отношения?")
    assert answer.unusable and "English" in answer.notice


def test_huge_question_is_capped_and_still_answered(engine):
    answer = engine.answer("when were diplomatic relations established? " * 3000)
    assert "first" in answer.notice
    assert not answer.unusable


def test_sources_list_every_article_with_metadata(engine):
    sources = engine.sources()
    assert len(sources) == 5
    assert {s.outlet for s in sources} >= {"Seetao", "Xinhua", "People's Daily"}
    assert all(s.title and s.passages > 0 for s in sources)


def test_missing_index_says_what_to_run(tmp_path, embedder):
    engine = Engine(make_settings(SEEDS, tmp_path / "none"), embedder=embedder)
    with pytest.raises(IndexMissing, match="newsbot index"):
        engine.load()


def test_manifest_from_another_model_is_refused_with_advice(index_copy, embedder):
    engine = Engine(make_settings(SEEDS, index_copy, model="some/other-model"), embedder=embedder)
    with pytest.raises(IndexMismatch, match="other-model.*newsbot index"):
        engine.load()


def test_truncated_vector_file_is_detected_at_load(index_copy, embedder):
    current = index_copy / (index_copy / POINTER).read_text().strip()
    faiss_file = current / "passages.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match="newsbot index"):
        Engine(make_settings(SEEDS, index_copy), embedder=embedder).load()


def test_metadata_not_matching_vector_count_is_detected(index_copy, embedder):
    import numpy as np

    current = index_copy / (index_copy / POINTER).read_text().strip()
    lines = (current / "passages.jsonl").read_bytes().splitlines(keepends=True)
    (current / "passages.jsonl").write_bytes(b"".join(lines[:-1]))
    offsets = np.load(current / "passages.offsets.npy")
    np.save(current / "passages.offsets.npy", offsets[:-1])
    manifest = json.loads((current / "manifest.json").read_text())
    for name in ("passages.jsonl", "passages.offsets.npy"):
        manifest["files"][name] = (current / name).stat().st_size
        manifest["checksums"][name] = checksum(current / name)
    (current / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="vectors for"):
        Engine(make_settings(SEEDS, index_copy), embedder=embedder).load()


@pytest.mark.parametrize("fail_at", [1, 2])
def test_build_interrupted_at_a_rename_leaves_previous_index_answering(index_copy, embedder, monkeypatch, fail_at):
    corpus = index_copy.parent / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "001_c0144ea105606dd7.txt").unlink()
    engine = Engine(make_settings(corpus, index_copy), embedder=embedder)
    calls = {"n": 0}
    real_replace = os.replace

    def dying_replace(a, b):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt("killed")
        return real_replace(a, b)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        engine.build(progress=False)
    monkeypatch.setattr(os, "replace", real_replace)
    survivor = Engine(make_settings(SEEDS, index_copy), embedder=embedder)
    survivor.load()
    assert "1992" in survivor.answer("when were diplomatic relations established?").passages[0].text
    assert len(survivor.sources()) == 5


def test_changed_corpus_is_detected_and_rebuild_reuses_unchanged_vectors(index_copy, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    engine = Engine(make_settings(corpus, index_copy), embedder=embedder)
    assert engine.ensure_index(progress=False) is None  # copies keep size and mtime: not stale
    (corpus / "002_37fe6401c5483390.txt").unlink()
    assert engine.is_stale()
    heard: list[str] = []
    report = engine.ensure_index(progress=False, notify=heard.append)
    assert heard == ["1 article was removed: updating the index"], "the rebuild says why"
    assert report is not None and report.embedded == 0 and report.reused > 0
    assert len(engine.sources()) == 4
    assert all(h.passage.file != "002_37fe6401c5483390.txt"
               for h in engine.answer("Tokayev state visit to China").passages)


def test_a_file_only_touched_or_copied_without_its_times_is_no_change(index_copy, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    engine = Engine(make_settings(corpus, index_copy), embedder=embedder)
    engine.load()
    touched = corpus / "002_37fe6401c5483390.txt"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    shutil.copy(corpus / "000_f3c7b540608cc31d.txt", tmp_path / "copy.txt")  # no times kept
    shutil.move(tmp_path / "copy.txt", corpus / "000_f3c7b540608cc31d.txt")
    assert not engine.is_stale()
    assert engine.ensure_index(progress=False) is None  # nothing rebuilt
    touched.write_text(touched.read_text(encoding="utf-8") + "\nA new closing line.\n", encoding="utf-8")
    assert engine.is_stale().describe() == "1 article changed: updating the index"


def test_words_the_scraper_glued_are_shown_apart_while_the_passage_stays_a_file_slice(engine):
    answer = engine.answer("Who wrote the People's Daily piece on Tokayev's visit?")
    assert "Kazakhstan Zhang Xiao" in answer.answer_sentence, answer.answer_sentence
    top = answer.passages[0]
    assert "Kazakhstan Zhang Xiao" in top.text and "KazakhstanZhang" in top.passage.text


def test_a_rebuild_at_start_says_what_changed(index_copy, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    engine = Engine(make_settings(corpus, index_copy), embedder=embedder)
    engine.load()
    for name in ("000_f3c7b540608cc31d.txt", "001_c0144ea105606dd7.txt"):
        with (corpus / name).open("a", encoding="utf-8") as f:
            f.write("\nThe roundtable closed with a call for more student exchanges between the two countries.\n")
    (corpus / "003_76a0430b942b8f9f.txt").unlink()
    assert engine.is_stale().describe() == "2 articles changed and 1 was removed: updating the index"
    heard: list[str] = []
    assert Engine(make_settings(corpus, tmp_path / "fresh"), embedder=embedder).ensure_index(
        progress=False, notify=heard.append) is not None
    assert heard == [f"No index yet: building it from {corpus}"]
