"""Telegram HTML rendering: escaped, well formed, within Telegram's limit, never cut inside a tag."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.telegram.render import TELEGRAM_LIMIT, fit, sources_html, telegram_html, units
from retrieval.types import HEDGE, UNUSABLE, Answer, Hit, Passage, Sentence, Source
from tests.botapi_standin import telegram_html_text, telegram_units


def passage(text: str, title: str = "Title", outlet: str = "Outlet", date: str = "2022-01-03") -> Passage:
    return Passage(id="p", file="a.txt", title=title, date=date, outlet=outlet, start=0, end=len(text),
                   sentences=(Sentence(text, 0, len(text)),))


def hit(text: str, **meta: str) -> Hit:
    return Hit(passage(text, **meta), 0.9, text, text)


def answer(sentence: str, *hits: Hit, notice: str = "") -> Answer:
    return Answer("q?", passages=hits, answer_sentence=sentence, notice=notice)


def shown(html: str) -> str:
    """What Telegram would show; fails the test when Telegram would refuse the HTML."""
    return telegram_html_text(html)


def test_an_unsure_answer_opens_with_the_hedge_with_or_without_passages():
    for hits in ((hit("Relations began in 1992."),), ()):
        unsure = Answer("q?", passages=hits, answer_sentence="Relations began in 1992.", hedged=True)
        [msg] = telegram_html(unsure)
        assert msg.startswith(f"<i>{HEDGE}</i>\n<b>Relations began in 1992.</b>")
        assert shown(msg).startswith(HEDGE)
        [sure] = telegram_html(Answer("q?", passages=hits, answer_sentence="Relations began in 1992."))
        assert HEDGE not in sure


def test_answer_sentence_is_bold_and_each_passage_is_cited():
    [msg] = telegram_html(answer("Relations began in 1992.",
                                 hit("Relations began in 1992.", title="Thirty years", outlet="Seetao")))
    assert msg.startswith("<b>Relations began in 1992.</b>")
    assert "<blockquote><b>Relations began in 1992.</b></blockquote>" in msg
    assert "<i>Thirty years</i> — Seetao, 2022-01-03 (a.txt)" in msg
    shown(msg)


def test_the_excerpt_is_the_sentence_with_its_neighbours_and_the_rest_are_collapsed():
    first = Hit(passage("Talks began. Relations began in 1992. Trade grew."), 0.9, "Relations began in 1992.",
                "Talks began. Relations began in 1992. Trade grew.", before="Talks began.", after="Trade grew.")
    [msg] = telegram_html(answer("Relations began in 1992.", first, hit("Other passage.", title="Two"),
                                 hit("Third passage.", title="Three")))
    assert "<blockquote>Talks began. <b>Relations began in 1992.</b> Trade grew.</blockquote>\n<i>Title</i>" in msg
    assert msg.count("<blockquote expandable>") == 1, "the other passages share one collapsed quote"
    assert "<blockquote expandable><i>Two</i> — Outlet, 2022-01-03 (a.txt)\nOther passage.\n\n<i>Three</i>" in msg
    shown(msg)


def test_neighbours_give_way_before_the_sentence_when_room_is_short():
    long = "A neighbour sentence that goes on. " * 30
    first = Hit(passage("x"), 0.9, "Relations began in 1992.", "x", before=long, after=long)
    [msg] = telegram_html(answer("Relations began in 1992.", first))
    assert "<blockquote><b>Relations began in 1992.</b></blockquote>" in msg


def test_article_and_user_text_are_escaped():
    nasty = '<b>unclosed & <script>alert("x")</script>'
    [msg] = telegram_html(answer(nasty, hit(nasty, title=nasty, outlet=nasty, date=nasty)))
    assert "<script>" not in msg and "<b>unclosed" not in msg
    assert shown(msg).count(nasty) == 5  # sentence, passage, title, outlet, date
    [declined] = telegram_html(Answer(nasty, declined=True, declined_reason="no match"))
    assert "&lt;b&gt;unclosed &amp; &lt;script&gt;" in declined
    assert nasty in shown(declined)


def test_declined_answer_says_so_plainly_and_suggests_sources():
    [msg] = telegram_html(Answer("Who won the 1930 World Cup?", declined=True, declined_reason="weak"))
    assert "couldn't find an answer" in msg and "/sources" in msg
    assert "Who won the 1930 World Cup?" in msg


def test_unusable_question_shows_only_the_engine_notice():
    notice = "Sorry, I currently understand questions in English only. Please ask in English."
    [msg] = telegram_html(Answer("Когда?", declined=True, declined_reason=UNUSABLE, notice=notice))
    assert msg == notice


def test_notice_on_an_answered_question_comes_before_the_answer():
    [msg] = telegram_html(answer("It was 1992.", hit("It was 1992."), notice="Your message was long."))
    assert msg.startswith("<i>Your message was long.</i>\n\n<b>It was 1992.</b>")


def test_long_passages_are_trimmed_with_an_ellipsis_into_one_message():
    hits = [hit(f"Passage {i}. " + "word " * 2000, title=f"T{i}") for i in range(3)]
    messages = telegram_html(answer("Short answer.", *hits))
    assert len(messages) == 1
    [msg] = messages
    assert units(msg) <= TELEGRAM_LIMIT and msg.count("…\n\n<i>T2</i>") == 1 and msg.count("…</blockquote>") == 1
    assert all(f"<i>T{i}</i>" in msg for i in range(3)), "every citation survives trimming"
    shown(msg)


def test_passages_that_cannot_get_useful_room_are_dropped_not_cut_mid_tag():
    hits = [hit("word " * 500, title="x" * 150, outlet="y" * 150) for _ in range(12)]
    [msg] = telegram_html(answer("Answer.", *hits), limit=1000)
    assert units(msg) <= 1000
    assert msg.count("<blockquote") == msg.count("</blockquote>") >= 1
    shown(msg)


def test_limit_counts_utf16_units_like_telegram():
    emoji = "😀" * 3000  # 3000 characters, 6000 UTF-16 units
    [msg] = telegram_html(answer("ok", hit(emoji)))
    assert telegram_units(msg) <= TELEGRAM_LIMIT


def test_fit_cuts_at_a_word_boundary_and_never_inside_an_entity():
    assert fit("alpha beta gamma", 100) == "alpha beta gamma"
    assert fit("alpha beta gamma", 12) == "alpha beta…"
    cut = fit("a & b & c & d & e", 10)
    assert units(cut) <= 10 and telegram_html_text(cut)


def test_control_characters_and_lone_surrogates_are_dropped():
    [msg] = telegram_html(answer("a\x00b\ud800c", hit("x\x07y")))
    assert "<b>abc</b>" in msg and "xy" in msg


def test_limit_below_minimum_is_refused_with_the_value():
    with pytest.raises(ValueError, match="got 50"):
        telegram_html(answer("a"), limit=50)


def test_sources_list_titles_outlets_dates_and_files_escaped():
    html = sources_html([Source("a.txt", "China & <Kazakhstan>", "2022-01-03", "Seetao", 3),
                         Source("b.txt", "Second", "", "", 1)])
    assert html.splitlines() == [
        "<b>2 indexed articles</b>",
        "1. <i>China &amp; &lt;Kazakhstan&gt;</i> — Seetao, 2022-01-03 (a.txt)",
        "2. <i>Second</i> (b.txt)",
    ]


def test_many_sources_end_with_how_many_more():
    html = sources_html([Source(f"{i}.txt", f"Article number {i} " + "x" * 80, "2022", "Out", 1)
                         for i in range(200)])
    assert units(html) <= TELEGRAM_LIMIT and html.endswith("more")
    shown(html)


def test_no_sources_says_so():
    assert sources_html([]) == "No articles are indexed yet."


texts = st.text(st.characters(codec="utf-8") | st.sampled_from("<>&\"';/ \n"), max_size=3000)
short = st.text(st.characters(codec="utf-8") | st.sampled_from("<>&\"' "), max_size=300)


@st.composite
def answers(draw) -> Answer:
    hits = draw(st.lists(st.builds(lambda t, ti, o, d: hit(t, title=ti, outlet=o, date=d),
                                   texts, short, short, short), max_size=6))
    return Answer(draw(texts), passages=tuple(hits), answer_sentence=draw(texts),
                  declined=draw(st.booleans()), declined_reason=draw(st.sampled_from(["", UNUSABLE, "weak"])),
                  notice=draw(st.one_of(st.just(""), texts)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers(), st.sampled_from([TELEGRAM_LIMIT, 1024, 200]))
def test_any_answer_renders_to_well_formed_html_within_the_limit(ans, limit):
    for msg in telegram_html(ans, limit=limit):
        assert telegram_units(msg) <= limit
        assert shown(msg).strip(), "Telegram refuses empty messages"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(Source, short, short, short, short, st.integers(0, 9)), max_size=80))
def test_any_source_list_renders_to_well_formed_html_within_the_limit(sources):
    html = sources_html(sources)
    assert telegram_units(html) <= TELEGRAM_LIMIT and shown(html).strip()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(lambda t, ti: hit(t, title=ti, outlet=ti, date=ti), texts,
                          st.text(min_size=150, max_size=400)), min_size=1, max_size=4),
       st.sampled_from(["", "Answer."]))
def test_long_citations_still_fit_the_smallest_limit(hits, sentence):
    for msg in telegram_html(Answer("q", passages=tuple(hits), answer_sentence=sentence), limit=200):
        assert telegram_units(msg) <= 200 and shown(msg).strip()
