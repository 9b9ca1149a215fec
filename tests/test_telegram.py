"""The real Telegram Application, end to end against the Bot API stand-in on 127.0.0.1.

Every wait is on the stand-in's condition; "no reply" is proven by a later
message in the same chat getting its reply (updates of one chat are handled in
order), never by sleeping.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest

from bot.telegram import (
    ASK_USAGE, AllowList, QuestionLimit, COMMANDS, NOT_TEXT, REFUSAL, SLOW_DOWN, SOMETHING_WRONG, build_application,
    POLLING, check_telegram_settings, run_telegram, webhook_options,
)
from retrieval.settings import DEFAULT_EXAMPLE_QUESTION, Settings
from tests.conftest import TEST_DB
from tests.botapi_standin import MESSAGE_LIMIT, ApplicationThread, Fault, telegram_html_text, telegram_units


QUESTION = "when was diplomatic relations established?"


def telegram_settings(botapi, **env: str) -> Settings:
    """Settings as the bot reads them, pointed at the stand-in, isolated from the developer's .env."""
    base = {"TELEGRAM_BOT_TOKEN": botapi.token, "TELEGRAM_API_BASE_URL": botapi.root_url, "BOT_DB_PATH": str(TEST_DB)}
    return Settings.from_env(environ={**base, **env}, dotenv=Path("/nonexistent"))


@pytest.fixture
def run_bot(botapi, engine):
    """Start the real Application (polling the stand-in); ``run_bot(engine=..., **env)``."""
    running: list[ApplicationThread] = []

    def start(answering=None, **env: str) -> ApplicationThread:
        app = build_application(telegram_settings(botapi, **env), answering or engine)
        runner = ApplicationThread(app, polling=POLLING).__enter__()
        running.append(runner)
        return runner

    yield start
    for runner in running:
        runner.stop()


@pytest.fixture
def bot(run_bot):
    return run_bot()


def valid_reply(sent) -> str:
    """The text Telegram would show; asserts well-formed HTML (allowed tags only) and the length limit."""
    shown = telegram_html_text(sent.text) if sent.parse_mode == "HTML" else sent.text
    assert telegram_units(shown) <= MESSAGE_LIMIT and len(sent.text) <= MESSAGE_LIMIT
    return shown


class GatedEngine:
    """The real engine, except that questions containing ``hold`` wait for ``release`` and ``boom`` fails."""

    def __init__(self, engine, hold: str = "\0"):
        self.engine, self.hold = engine, hold
        self.release, self.holding = threading.Event(), threading.Event()

    def sources(self):
        return self.engine.sources()

    def answer(self, question: str):
        if "boom" in question:
            raise RuntimeError("index shard /srv/secret/path exploded")
        if self.hold in question:
            self.holding.set()
            assert self.release.wait(30), "the test never released the held question"
        return self.engine.answer(question)


# --------------------------------------------------------------------------- private chats


def test_private_question_gets_cited_valid_html_answer_with_1992(botapi, bot):
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, QUESTION)
    [reply] = botapi.wait_for_replies(asked)
    shown = valid_reply(reply)
    assert "1992" in shown
    assert "<b>" in reply.text and "1992" in reply.text.split("</b>")[0], "the answering sentence is bold"
    assert "<blockquote>" in reply.text and "</blockquote>\n<i>" in reply.text, "passages carry citations"
    assert "Seetao, 2022-01-03" in shown
    typing = [c for c in botapi.calls_to("sendChatAction") if c.params.get("chat_id") == str(alice["id"])]
    assert typing and typing[0].params["action"] == "typing"


def test_command_menu_is_published_at_startup(botapi, bot):
    [call] = botapi.wait_for_calls("setMyCommands")
    assert [c["command"] for c in call.params["commands"]] == [c.command for c in COMMANDS]


def test_start_help_sources_and_bare_ask(botapi, bot, engine):
    alice = botapi.new_user("Alice")
    start, helps, sources, bare = (botapi.send_command(alice, c) for c in ("start", "help", "sources", "ask"))
    [start_reply] = botapi.wait_for_replies(start)
    assert len(valid_reply(start_reply).splitlines()) == 2 and DEFAULT_EXAMPLE_QUESTION in start_reply.plain
    assert "/sources" in botapi.wait_for_replies(helps)[0].plain
    listed = valid_reply(botapi.wait_for_replies(sources)[0])
    assert all(s.title in listed for s in engine.sources())
    assert botapi.wait_for_replies(bare)[0].plain == ASK_USAGE.format(example=DEFAULT_EXAMPLE_QUESTION)


def test_an_operator_sets_the_example_question_for_their_own_articles(botapi, run_bot):
    run_bot(BOT_EXAMPLE_QUESTION="Who won the <mayoral> race?")
    alice = botapi.new_user("Alice")
    start, bare = botapi.send_command(alice, "start"), botapi.send_command(alice, "ask")
    assert "Who won the <mayoral> race?" in valid_reply(botapi.wait_for_replies(start)[0])
    assert botapi.wait_for_replies(bare)[0].plain == ASK_USAGE.format(example="Who won the <mayoral> race?")


def test_hostile_text_comes_back_escaped(botapi, bot):
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, "<b>unclosed & <script>")
    [reply] = botapi.wait_for_replies(asked)
    assert "&lt;b&gt;unclosed &amp; &lt;script&gt;" in reply.text and "<script>" not in reply.text
    assert "<b>unclosed & <script>" in valid_reply(reply)


@pytest.mark.parametrize("send", ["send_sticker", "send_photo", "send_voice"])
def test_media_gets_the_text_only_reply(botapi, bot, send):
    alice = botapi.new_user("Alice")
    sent = getattr(botapi, send)(alice)
    [reply] = botapi.wait_for_replies(sent)
    assert reply.plain == NOT_TEXT


@pytest.mark.parametrize("text", ["\u200b", "   ", "😀🎉", "?!…", "x " * 2000, "Когда были установлены отношения?",
                                  "a\u200b\u202eb\x00c", "`code` </b> <a href='x'>"])
def test_odd_text_gets_a_clear_valid_reply(botapi, bot, text):
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, text)
    [reply] = botapi.wait_for_replies(asked)
    assert valid_reply(reply).strip()


def test_edited_question_is_answered_again(botapi, bot):
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, "when was diplomatic relations estab")
    botapi.wait_for_replies(asked)
    botapi.send_edit(asked, QUESTION)
    replies = botapi.wait_for_replies(asked, count=2)
    assert "1992" in valid_reply(replies[1])


def test_unknown_command_in_private_points_to_help(botapi, bot):
    alice = botapi.new_user("Alice")
    [reply] = botapi.wait_for_replies(botapi.send_command(alice, "frobnicate"))
    assert "/help" in reply.plain


def test_replies_in_one_chat_keep_the_order_of_the_questions(botapi, bot):
    alice = botapi.new_user("Alice")
    asked = botapi.queue(*(botapi.make_text(alice, f"{QUESTION} ({i})") for i in range(5)))
    sent = botapi.wait_for_messages(5, alice["id"])
    assert [s.reply_to for s in sent] == [u["message"]["message_id"] for u in asked]


def test_slow_answer_in_one_chat_does_not_stall_another(botapi, run_bot, engine):
    gated = GatedEngine(engine, hold="HOLD")
    run_bot(gated)
    alice, bob = botapi.new_user("Alice"), botapi.new_user("Bob")
    held = botapi.send_text(alice, f"{QUESTION} HOLD")
    assert gated.holding.wait(15)
    quick = botapi.send_text(bob, QUESTION)
    botapi.wait_for_replies(quick)
    assert botapi.replies_to(held) == []
    gated.release.set()
    botapi.wait_for_replies(held)


def test_engine_failure_is_logged_and_user_told_without_internals(botapi, run_bot, engine, caplog):
    run_bot(GatedEngine(engine))
    alice = botapi.new_user("Alice")
    [reply] = botapi.wait_for_replies(botapi.send_text(alice, "boom"))
    assert reply.plain == SOMETHING_WRONG and "secret" not in reply.plain
    assert any("exploded" in r.exc_text for r in caplog.records if r.exc_text)


# --------------------------------------------------------------------------- groups


def test_group_answers_only_ask_mentions_and_replies_to_the_bot(botapi, bot):
    alice, group = botapi.new_user("Alice"), botapi.new_group("Press room")
    chatter = botapi.send_text(alice, QUESTION, chat=group)
    media = botapi.send_sticker(alice, chat=group)
    other_bot = botapi.queue(botapi.make_text(alice, "/ask@other_bot x", chat=group,
                                              entities=[{"type": "bot_command", "offset": 0, "length": 14}]))[0]
    mention = botapi.send_mention(alice, QUESTION, chat=group)
    [answer] = botapi.wait_for_replies(mention)
    assert "1992" in valid_reply(answer)
    for ignored in (chatter, media, other_bot):
        assert botapi.replies_to(ignored) == [], "updates of one chat are handled in order"
    assert botapi.messages_in(group) == [answer]

    follow_up = botapi.send_reply(alice, QUESTION, to=answer)
    asked = botapi.send_command(alice, "ask", QUESTION, chat=group, addressed=True)
    assert "1992" in valid_reply(botapi.wait_for_replies(follow_up)[0])
    assert "1992" in valid_reply(botapi.wait_for_replies(asked)[0])
    assert len(botapi.messages_in(group)) == 3


# --------------------------------------------------------------------------- access and abuse limits


def test_allow_list_refuses_a_stranger_exactly_once(botapi, run_bot):
    alice, stranger, group = botapi.new_user("Alice"), botapi.new_user("Mallory"), botapi.new_group()
    run_bot(TELEGRAM_ALLOWED_USERS=str(alice["id"]))
    [refusal] = botapi.wait_for_replies(botapi.send_text(stranger, QUESTION))
    assert refusal.plain == REFUSAL
    again = [botapi.send_mention(stranger, QUESTION, chat=group), botapi.send_text(stranger, "hello?", chat=group),
             botapi.send_command(stranger, "ask", QUESTION, chat=group)]
    allowed = botapi.send_mention(alice, QUESTION, chat=group)
    assert "1992" in botapi.wait_for_replies(allowed)[0].plain
    assert [botapi.replies_to(u) for u in again] == [[], [], []]
    assert [s.plain for s in botapi.sent if s.plain == REFUSAL] == [REFUSAL]


def test_allowed_chat_lets_everyone_in_it_ask(botapi, run_bot):
    stranger, group = botapi.new_user("Mallory"), botapi.new_group()
    run_bot(TELEGRAM_ALLOWED_CHATS=str(group["id"]))
    [reply] = botapi.wait_for_replies(botapi.send_mention(stranger, QUESTION, chat=group))
    assert "1992" in reply.plain


def test_question_limit_asks_to_slow_down_once(botapi, run_bot):
    run_bot(BOT_QUESTIONS_PER_MINUTE="2")
    alice = botapi.new_user("Alice")
    asked = botapi.queue(*(botapi.make_text(alice, QUESTION) for _ in range(4)))
    helped = botapi.send_command(alice, "help")
    botapi.wait_for_replies(helped)
    assert ["1992" in r.plain for u in asked[:2] for r in botapi.replies_to(u)] == [True, True]
    assert [r.plain for r in botapi.replies_to(asked[2])] == [SLOW_DOWN]
    assert botapi.replies_to(asked[3]) == []


# --------------------------------------------------------------------------- faults on the way out


def test_flood_control_429_is_waited_out_and_the_reply_arrives(botapi, bot):
    botapi.inject("sendMessage", Fault.retry_after(1))
    alice = botapi.new_user("Alice")
    [reply] = botapi.wait_for_replies(botapi.send_text(alice, QUESTION))
    assert "1992" in reply.plain
    refused, delivered = botapi.calls_to("sendMessage")
    assert (refused.status, delivered.status) == (429, 200)
    assert delivered.at - refused.at >= 1.0, "retry_after was honoured"


def test_server_error_and_dropped_connection_are_retried_without_duplicates(botapi, bot):
    botapi.inject("sendMessage", Fault.error(500), Fault.drop())
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, QUESTION)
    botapi.wait_for_replies(asked)
    then = botapi.send_command(alice, "help")
    botapi.wait_for_replies(then)
    assert len(botapi.replies_to(asked)) == 1
    assert [c.status for c in botapi.calls_to("sendMessage")][:3] == [500, 0, 200]


# --------------------------------------------------------------------------- secrets and start-up


def test_token_never_appears_in_logs(botapi, run_bot, engine, caplog):
    caplog.set_level(logging.DEBUG)
    run_bot(GatedEngine(engine))
    alice = botapi.new_user("Alice")
    botapi.wait_for_replies(botapi.send_text(alice, QUESTION))
    botapi.wait_for_replies(botapi.send_text(alice, "boom"))
    secret = botapi.token.split(":", 1)[1]
    assert caplog.records, "the run did log"
    assert secret not in caplog.text
    assert "/bot***" in caplog.text, "the token was logged, and masked"
    assert not [r for r in caplog.records if secret in r.getMessage() or secret in (r.exc_text or "")]


def test_token_rejected_by_the_server_stops_with_one_line(botapi, engine, caplog):
    caplog.set_level(logging.DEBUG)
    token = "987654321:AAHrejectedTokenrejectedTokenrejected1"
    settings = telegram_settings(botapi, TELEGRAM_BOT_TOKEN=token)
    with pytest.raises(SystemExit) as stopped:
        run_telegram(settings, engine, None, "127.0.0.1", 8080, None)
    message = str(stopped.value.code)
    assert "TELEGRAM_BOT_TOKEN" in message and "\n" not in message
    assert token.split(":")[1] not in message + caplog.text


@pytest.mark.parametrize("token, says", [("", "is not set"), ("not-a-token", "does not look like"),
                                         ("123:short", "does not look like")])
def test_missing_or_malformed_token_names_the_variable(botapi, engine, token, says):
    settings = telegram_settings(botapi, TELEGRAM_BOT_TOKEN=token)
    with pytest.raises(SystemExit) as stopped:
        run_telegram(settings, engine, None, "127.0.0.1", 8080, None)
    message = str(stopped.value.code)
    assert message.startswith("TELEGRAM_BOT_TOKEN") and says in message and "\n" not in message
    assert not token or token not in message


def test_bad_api_url_is_reported_by_name(botapi):
    with pytest.raises(ValueError, match="TELEGRAM_API_BASE_URL"):
        check_telegram_settings(telegram_settings(botapi, TELEGRAM_API_BASE_URL="ftp://x"))


# --------------------------------------------------------------------------- webhook mode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_mode_answers_and_checks_the_secret_token(botapi, engine):
    port = free_port()
    options = webhook_options(f"http://127.0.0.1:{port}/telegram", "127.0.0.1", port, "s3cret-Token_1")
    app = build_application(telegram_settings(botapi), engine)
    with ApplicationThread(app, webhook=options):
        hook = botapi.wait_for(lambda s: s.webhook.get("url") and s.webhook, what="setWebhook")
        assert hook == {"url": f"http://127.0.0.1:{port}/telegram", "secret_token": "s3cret-Token_1"}
        alice = botapi.new_user("Alice")
        forged = botapi.make_text(alice, QUESTION)
        assert botapi.post_webhook(forged, secret="wrong") == 403
        assert botapi.post_webhook(forged, secret=None) == 403
        asked = botapi.send_text(alice, QUESTION)
        [reply] = botapi.wait_for_replies(asked)
        assert "1992" in reply.plain
        assert botapi.replies_to(forged) == []


# --------------------------------------------------------------------------- policies on their own


def test_question_limit_window_slides_and_warns_once_per_burst():
    now = [0.0]
    limit = QuestionLimit(2, clock=lambda: now[0])
    assert [limit.take(1) for _ in range(4)] == ["allow", "allow", "warn", "quiet"]
    assert limit.take(2) == "allow", "limits are per user"
    now[0] = 60.0
    assert [limit.take(1) for _ in range(3)] == ["allow", "allow", "warn"]
    assert QuestionLimit(0).take(1) == "allow", "0 disables the limit"


def test_allow_list_is_open_when_empty_and_matches_users_or_chats():
    assert AllowList().allows(5, 5)
    only = AllowList(users=frozenset({1}), chats=frozenset({-100}))
    assert only.allows(1, 42) and only.allows(7, -100) and not only.allows(7, 42)
