"""The Telegram door as a real process: start-up errors as one line, logs free of the token, clean SIGTERM.

These use a stub engine (plumbing only); the answering itself is covered in test_telegram.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from bot.telegram import add_telegram_arguments
from retrieval.settings import PROJECT_ROOT
from tests.conftest import STUB_BOT, TEST_DB


def bot_env(**values: str) -> dict[str, str]:
    """The environment with every Telegram setting pinned, so a developer's .env cannot leak in."""
    pinned = {"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_API_BASE_URL": "", "TELEGRAM_ALLOWED_USERS": "",
              "TELEGRAM_ALLOWED_CHATS": "", "BOT_QUESTIONS_PER_MINUTE": "0", "BOT_LOG_LEVEL": "INFO",
              "BOT_DB_PATH": str(TEST_DB)}
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **pinned, **values}


def test_cli_without_token_says_what_to_set_in_one_line():
    done = subprocess.run([sys.executable, "-m", "bot", "telegram"], env=bot_env(), cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "TELEGRAM_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_cli_with_malformed_token_does_not_echo_it():
    token = "12345:not-long-enough-secret"
    done = subprocess.run([sys.executable, "-m", "bot", "telegram"], env=bot_env(TELEGRAM_BOT_TOKEN=token),
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "TELEGRAM_BOT_TOKEN" in done.stderr
    assert "not-long-enough-secret" not in done.stderr and "Traceback" not in done.stderr


def test_running_bot_answers_keeps_token_out_of_logs_and_stops_on_sigterm(botapi):
    env = bot_env(TELEGRAM_BOT_TOKEN=botapi.token, TELEGRAM_API_BASE_URL=botapi.root_url, BOT_LOG_LEVEL="DEBUG")
    proc = subprocess.Popen([sys.executable, "-c", STUB_BOT], env=env, cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        botapi.wait_until_polling(timeout=60)
        alice = botapi.new_user("Alice")
        [reply] = botapi.wait_for_replies(botapi.send_text(alice, "anything <b>"))
        assert "&lt;b&gt;" in reply.text
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped cleanly" in out
    assert "DEBUG" in err, "debug logging was on, so every request was logged"
    assert botapi.token.split(":")[1] not in err + out
    assert "Traceback" not in err


def test_every_telegram_option_has_help_and_sane_defaults(monkeypatch):
    for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_LISTEN", "TELEGRAM_WEBHOOK_PORT"):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    add_telegram_arguments(parser)
    assert all(a.help for a in parser._actions if a.dest != "help")
    args = parser.parse_args([])
    assert (args.webhook_url, args.listen, args.port, args.secret_token) == (None, "127.0.0.1", 8080, None)
