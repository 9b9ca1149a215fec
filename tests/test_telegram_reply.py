"""What a phone shows: the reply's shape through the real Application and the Bot API stand-in.

The answering sentence bold, one short excerpt with its citation, the other passages in one
collapsed expandable quote, at most ~700 units visible before anything is expanded, and a
"More" button that brings the passages ranked next.
"""

from __future__ import annotations

import json

from bot.telegram.handlers import MORE_GONE
from retrieval.engine import Engine
from tests.botapi_standin import telegram_html_text, telegram_visible_units
from tests.conftest import DEV_SET
from tests.test_telegram import QUESTION, bot, run_bot, valid_reply  # noqa: F401 - fixtures

PHONE_SCREEN = 700


def more_button(botapi, sent) -> dict:
    [button] = [b for b in botapi.buttons(sent) if b["text"] == "More"]
    return button


def test_a_reply_shows_little_before_expanding_and_keeps_the_answer_bold(botapi, bot, engine):
    alice = botapi.new_user("Alice")
    questions = [json.loads(line)["q"] for line in DEV_SET.read_text().splitlines()[:12]]
    asked = [botapi.send_text(alice, q) for q in questions]
    for q, update in zip(questions, asked):
        [reply] = botapi.wait_for_replies(update)
        shown = valid_reply(reply)
        answer = engine.answer(q)
        if answer.declined:
            continue
        assert telegram_visible_units(reply.text) <= PHONE_SCREEN, (q, reply.text)
        bold = reply.text[reply.text.index("<b>"):]  # after the hedge, when the answer is unsure
        headline = telegram_html_text(bold.split("</b>")[0] + "</b>")
        assert answer.answer_sentence.startswith(headline.rstrip("…")), "the answering sentence opens in bold"
        assert f"<b>{answer.passages[0].sentence}"[:60] in reply.text.split("<blockquote>")[1], \
            "the excerpt carries the answering sentence in bold"
        assert reply.text.count("<blockquote expandable>") == 1, "the other passages are collapsed together"
        for hit in answer.passages:
            assert hit.passage.title[:40] in shown, "every passage keeps its citation"


def test_more_brings_the_passages_ranked_next_and_the_button_goes(botapi, bot, engine):
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, QUESTION)
    [reply] = botapi.wait_for_replies(asked)
    button = more_button(botapi, reply)
    assert len(button["callback_data"].encode()) <= 64
    pressed = botapi.press(alice, reply, button["callback_data"])
    [more] = botapi.wait_for_replies(pressed)
    shown = valid_reply(more)
    expected = engine.answer(QUESTION).more
    assert expected and more.text.count("<blockquote expandable>") == len(expected)
    assert all(h.sentence[:50] in shown for h in expected), "the passages ranked after the top 3"
    botapi.wait_for_calls("editMessageReplyMarkup")
    assert [b["text"] for b in botapi.buttons(reply)] == ["👍", "👎"], "pressed once, More goes; the rating stays"
    assert botapi.answered, "the press is acknowledged so the phone stops its spinner"


def test_a_press_on_a_forgotten_answer_says_to_ask_again(botapi, bot):
    alice = botapi.new_user("Alice")
    [reply] = botapi.wait_for_replies(botapi.send_text(alice, QUESTION))
    [gone] = botapi.wait_for_replies(botapi.press(alice, reply, "more:no-such-key"))
    assert gone.plain == MORE_GONE


def test_declines_and_greetings_stay_short_without_buttons(botapi, bot):
    alice = botapi.new_user("Alice")
    declined, start = botapi.send_text(alice, "Who won the 1930 World Cup?"), botapi.send_command(alice, "start")
    for update in (declined, start):
        [reply] = botapi.wait_for_replies(update)
        assert len(valid_reply(reply)) < 300 and botapi.buttons(reply) == []


def test_an_unsure_answer_says_so_above_the_answer_and_keeps_its_buttons(botapi, run_bot, engine, embedder):
    """With the hedge line at 1 every answer is unsure: the reply opens with the hedge in italics, then the
    same bold answer, within a phone's screen, and the same buttons; at 0 no reply carries it."""
    from retrieval.types import HEDGE

    alice = botapi.new_user("Alice")
    replies = {}
    for line in (1.0, 0.0):
        unsure = Engine(engine.settings.with_(hedge_below=line), embedder=embedder)
        unsure.load()
        runner = run_bot(answering=unsure)
        [replies[line]] = botapi.wait_for_replies(botapi.send_text(alice, QUESTION))
        runner.stop()
    hedged, plain = replies[1.0], replies[0.0]
    valid_reply(hedged)
    assert hedged.text.startswith(f"<i>{HEDGE}</i>\n<b>")
    assert HEDGE not in plain.text
    answer = engine.answer(QUESTION)
    for reply in (hedged, plain):  # the same answer under it (the hedge's line comes out of the phone's screen)
        assert reply.text.split("</i>\n")[-1].startswith(f"<b>{answer.answer_sentence[:40]}")
        assert telegram_visible_units(reply.text) <= PHONE_SCREEN
    assert [b["text"] for b in botapi.buttons(hedged)] == [b["text"] for b in botapi.buttons(plain)] != []
