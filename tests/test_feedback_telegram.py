"""Feedback through the real bot: the real Application (and a real bot process) against the Bot API
stand-in, the question log in a temporary SQLite file, and the report read back with the real CLI."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.telegram import POLLING, build_application
from bot.telegram.handlers import THANKS
from retrieval.feedback.db import connect
from retrieval.feedback.privacy import Salt
from retrieval.settings import PROJECT_ROOT, Settings
from tests.botapi_standin import ApplicationThread
from tests.conftest import STUB_BOT, bot_process_env
from tests.feedback_helpers import rows, write_locked

ANSWERED = "when was diplomatic relations established?"
UNANSWERED = "What is the capital of Peru?"


@pytest.fixture
def feedback_bot(botapi, engine, tmp_path):
    """``start()`` runs the real Application with its question log at ``tmp_path/log.sqlite``;
    ``stop()`` stops it the way PTB does (the log is written out in post_shutdown)."""
    db = tmp_path / "log.sqlite"
    running: list[ApplicationThread] = []

    class Bot:
        path = db

        @staticmethod
        def start() -> ApplicationThread:
            settings = Settings.from_env(environ={
                "TELEGRAM_BOT_TOKEN": botapi.token, "TELEGRAM_API_BASE_URL": botapi.root_url,
                "BOT_DB_PATH": str(db), "BOT_QUESTIONS_PER_MINUTE": "0"}, dotenv=Path("/nonexistent"))
            running.append(ApplicationThread(build_application(settings, engine), polling=POLLING).__enter__())
            return running[-1]

        @staticmethod
        def stop() -> None:
            while running:
                running.pop().stop()

    yield Bot
    Bot.stop()


def report_json(db: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "bot", "report", "--json"], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=bot_process_env(BOT_DB_PATH=str(db)), timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def feedback_data(sent) -> list[str]:
    """The callback data of the 👍 and 👎 buttons the bot sent under ``sent``."""
    return [b["callback_data"] for row in sent.params["reply_markup"]["inline_keyboard"] for b in row
            if b["callback_data"].startswith("fb:")]


def thumbs(botapi, sent) -> list[str]:
    """The texts of the 👍 / 👎 buttons under ``sent`` now."""
    return [b["text"] for b in botapi.buttons(sent) if b["callback_data"].startswith("fb:")]


def test_a_thumbs_up_on_an_answer_and_an_unanswered_question_reach_the_report(botapi, feedback_bot):
    feedback_bot.start()
    alice, bob = botapi.new_user("Alice"), botapi.new_user("Bob")
    [declined] = botapi.wait_for_replies(botapi.send_text(alice, UNANSWERED))
    [answer] = botapi.wait_for_replies(botapi.send_text(alice, ANSWERED))
    assert "1992" in answer.plain and "couldn't find" in declined.plain
    up, down = feedback_data(answer)
    assert up.startswith("fb:") and up.endswith(":u") and down == up[:-1] + "d"
    assert str(alice["id"]) not in up and len(up.encode()) <= 64, "no user data in the callback data"
    assert thumbs(botapi, answer) == ["👍", "👎"] and botapi.buttons(declined) == [], "a decline has no buttons"

    press = botapi.press(alice, answer, up)
    assert botapi.wait_for_callback_answer(press)["text"] == THANKS
    botapi.wait_for(lambda s: thumbs(s, answer) == ["✅ 👍", "👎"], what="the pressed button marked")
    assert "More" in [b["text"] for b in botapi.buttons(answer)], "the other buttons stay"
    changed = botapi.press(bob, answer, down)  # Bob first disagrees, then changes his mind
    botapi.wait_for_callback_answer(changed)
    botapi.wait_for(lambda s: thumbs(s, answer) == ["👍", "✅ 👎"], what="Bob's press marked")
    botapi.wait_for_callback_answer(botapi.press(bob, answer, up))
    again = botapi.press(alice, answer, up)  # the same button again: nothing changes
    assert botapi.wait_for_callback_answer(again)["text"] == THANKS
    feedback_bot.stop()

    report = report_json(feedback_bot.path)
    assert (report["questions"], report["declined"]) == (2, 1)
    assert report["feedback"] == {"up": 2, "down": 0}, "one rating per user and answer, the latest kept"
    assert report["unanswered"] == [{"q": UNANSWERED, "count": 1, "also": []}]
    assert report["top_articles"][0]["file"] == "001_c0144ea105606dd7.txt"
    assert report["top_articles"][0]["title"].startswith("30 years of diplomatic relations")
    assert report["per_day"][-1]["questions"] == 2 and report["per_day"][-1]["declined"] == 1
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["p95"] >= report["latency_ms"]["p50"]
    assert report["doors"] == {"telegram": 2}
    assert all(r["user_hash"] == Salt.beside(feedback_bot.path).user(alice["id"]) for r in rows(feedback_bot.path))


def test_the_bot_answers_while_the_database_is_locked_and_writes_the_rows_afterwards(botapi, feedback_bot):
    connect(feedback_bot.path).close()
    feedback_bot.start()
    alice = botapi.new_user("Alice")
    with write_locked(feedback_bot.path):
        [answer] = botapi.wait_for_replies(botapi.send_text(alice, ANSWERED))
        assert "1992" in answer.plain
        press = botapi.press(alice, answer, feedback_data(answer)[1])
        assert botapi.wait_for_callback_answer(press)["text"] == THANKS
        assert rows(feedback_bot.path) == [], "nothing could be written yet"
    feedback_bot.stop()
    [row] = rows(feedback_bot.path)
    assert row["question"] == ANSWERED and [r["up"] for r in rows(feedback_bot.path, "ratings")] == [0]


def test_sigterm_writes_the_questions_still_pending(botapi, tmp_path):
    db = tmp_path / "log.sqlite"
    connect(db).close()
    env = bot_process_env(PYTHONPATH=str(PROJECT_ROOT), TELEGRAM_BOT_TOKEN=botapi.token, BOT_DB_PATH=str(db),
                          TELEGRAM_API_BASE_URL=botapi.root_url, BOT_INDEX_CHECK_SECONDS="0")
    proc = subprocess.Popen([sys.executable, "-c", STUB_BOT], env=env, cwd=PROJECT_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    try:
        botapi.wait_until_polling(timeout=60)
        alice = botapi.new_user("Alice")
        with write_locked(db):
            asked = [botapi.send_text(alice, f"question {i}") for i in range(3)]
            botapi.wait_for_replies(asked[-1])
            while "Cannot write the question log" not in lines.get(timeout=30):
                pass  # the rows are held in the bot process
            proc.send_signal(signal.SIGTERM)
            while "Writing 3 pending questions and ratings" not in lines.get(timeout=30):
                pass  # stopping, it waits for the database rather than exit with the rows unwritten
            assert proc.poll() is None
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped cleanly" in proc.stdout.read()
    assert [r["question"] for r in rows(db)] == ["question 0", "question 1", "question 2"]
