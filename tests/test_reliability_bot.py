"""The running Telegram bot under load, faults, outages, stop signals and index rebuilds.

The real Application talks to the Bot API stand-in on 127.0.0.1; waits are on the
stand-in's condition or on a log record, never fixed sleeps. Every test here also
checks that the bot token never reached the captured logs (DEBUG included).
"""

from __future__ import annotations

import logging
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from bot.telegram import SLOW_DOWN
from retrieval.engine import Engine
from retrieval.settings import PROJECT_ROOT
from tests.botapi_standin import Fault
from tests.conftest import SEEDS, bot_process_env, make_settings
from tests.test_telegram import QUESTION, GatedEngine, bot, run_bot, valid_reply  # noqa: F401 - fixtures

QUESTIONS = [
    "when was diplomatic relations established?",
    "What did Tokayev say about China?",
    "How much did trade between China and Kazakhstan grow?",
    "Where is the Chinese consulate general?",
    "What is the Belt and Road Initiative?",
]


@pytest.fixture(autouse=True)
def token_never_logged(botapi, caplog):
    """Every run below logs at DEBUG (request URLs carry the token); none of it may show the token."""
    caplog.set_level(logging.DEBUG)
    yield
    secret = botapi.token.split(":", 1)[1]
    assert secret not in caplog.text
    assert not [r for r in caplog.records if secret in r.getMessage() or secret in (r.exc_text or "")]


def one_reply_each_in_order(botapi, asked: list[dict]) -> None:
    """Each update in ``asked`` has exactly one reply and each chat's replies follow its questions' order."""
    for update in asked:
        assert len(botapi.replies_to(update)) == 1, f"update {update['update_id']}: {botapi.replies_to(update)}"
    chats: dict[int, list[int]] = {}
    for update in asked:
        chats.setdefault(update["message"]["chat"]["id"], []).append(update["message"]["message_id"])
    for chat, message_ids in chats.items():
        assert [s.reply_to for s in botapi.messages_in(chat)] == message_ids
    assert botapi.rejected == [], "Telegram would have refused a reply"


def close_conversations(botapi, users: list[dict]) -> list[dict]:
    """Send /help in every chat and wait for its reply: replies in a chat come in order, so all before it are in."""
    helps = [botapi.send_command(u, "help") for u in users]
    for h in helps:
        botapi.wait_for_replies(h, timeout=60)
    return helps


# --------------------------------------------------------------------------- load


def test_burst_load_of_20_users_gets_exactly_one_reply_per_question_in_order(botapi, run_bot):
    run_bot(BOT_QUESTIONS_PER_MINUTE="0")  # the default flood limiter (30 messages/s) stays on
    rng = random.Random(7)
    users = [botapi.new_user(f"User{i}") for i in range(20)]
    asked: list[dict] = []
    for _burst in range(5):  # every user asks once per burst, in a shuffled order
        burst = [botapi.make_text(u, rng.choice(QUESTIONS)) for u in rng.sample(users, len(users))]
        asked += botapi.queue(*burst)
        botapi.wait_until_fetched(timeout=60)
    asked += close_conversations(botapi, users)
    one_reply_each_in_order(botapi, asked)
    assert sum(1 for s in botapi.sent if "1992" in s.plain) >= 1, "the engine really answered"


def test_per_user_limit_slows_down_the_flooder_and_not_the_others(botapi, run_bot):
    run_bot(BOT_QUESTIONS_PER_MINUTE="3")
    mallory, alice = botapi.new_user("Mallory"), botapi.new_user("Alice")
    flood = [botapi.make_text(mallory, QUESTION) for _ in range(6)]
    calm = [botapi.make_text(alice, QUESTION) for _ in range(2)]
    botapi.queue(*[u for pair in zip(flood, calm + [None] * 4) for u in pair if u])
    close_conversations(botapi, [alice])
    botapi.wait_for_messages(4, mallory["id"])  # three answers and one "slow down"
    replies = [[r.plain for r in botapi.replies_to(u)] for u in flood]
    assert all("1992" in r[0] for r in replies[:3])
    assert replies[3] == [SLOW_DOWN], "one polite warning"
    assert replies[4:] == [[], []], "then quiet until the minute is over"
    assert all("1992" in botapi.replies_to(u)[0].plain for u in calm)


# --------------------------------------------------------------------------- faults


def test_faults_mid_conversation_still_deliver_every_reply_exactly_once(botapi, bot):
    alice = botapi.new_user("Alice")
    asked = []
    for fault in (Fault.retry_after(1), Fault.error(500), Fault.drop(), Fault.delay(0.5)):
        botapi.inject("sendMessage", fault)
        asked.append(botapi.send_text(alice, QUESTION))
        botapi.wait_for_replies(asked[-1], timeout=20)
    botapi.inject("sendChatAction", Fault.error(500))  # "typing…" is best effort
    botapi.inject("getUpdates", Fault.error(500), Fault.drop(), Fault.delay(0.5))  # the polls after the next one
    asked.append(botapi.send_text(alice, QUESTION))
    botapi.wait_for_replies(asked[-1], timeout=20)
    asked.append(botapi.send_text(alice, QUESTION))  # fetched only once the faulty polls are behind
    botapi.wait_for_replies(asked[-1], timeout=20)
    asked += close_conversations(botapi, [alice])
    one_reply_each_in_order(botapi, asked)
    assert all("1992" in valid_reply(botapi.replies_to(u)[0]) for u in asked[:-1])
    assert [c.status for c in botapi.calls_to("getUpdates") if c.fault] == [500, 0, 200]
    assert len(botapi.calls_to("getUpdates")) < 25, "polling backed off instead of spinning"


def test_polling_resumes_by_itself_after_an_outage(botapi, bot):
    alice = botapi.new_user("Alice")
    botapi.wait_for_replies(botapi.send_text(alice, QUESTION))
    before = len(botapi.calls_to("getUpdates"))
    botapi.set_down(True)
    during = botapi.send_text(alice, QUESTION)  # cannot reach the bot while the network is down
    botapi.wait_for(lambda s: sum(1 for c in s.calls_to("getUpdates")[before:] if c.status == 0) >= 2,
                    what="two failed polls during the outage")
    botapi.set_down(False)
    [reply] = botapi.wait_for_replies(during, timeout=30)
    assert "1992" in reply.plain
    failed = [c for c in botapi.calls_to("getUpdates")[before:] if c.status == 0]
    assert 2 <= len(failed) <= 4, "retries back off (1 s, 1.5 s, ...) instead of spinning"


def test_reply_caught_by_a_short_outage_is_retried_and_delivered_once(botapi, run_bot, engine):
    gated = GatedEngine(engine, hold="HOLD")
    run_bot(gated)
    alice = botapi.new_user("Alice")
    asked = botapi.send_text(alice, f"{QUESTION} HOLD")
    assert gated.holding.wait(15)
    botapi.set_down(True)
    gated.release.set()
    botapi.wait_for(lambda s: sum(1 for c in s.calls_to("sendMessage") if c.status == 0) >= 2,
                    what="two failed sends during the outage")
    botapi.set_down(False)
    [reply] = botapi.wait_for_replies(asked, timeout=20)
    assert "1992" in reply.plain
    one_reply_each_in_order(botapi, [asked, *close_conversations(botapi, [alice])])


# --------------------------------------------------------------------------- index rebuilt while running


class LogWaiter(logging.Handler):
    """Sets ``seen`` when a record containing ``text`` is logged."""

    def __init__(self, text: str):
        super().__init__(logging.DEBUG)
        self.text, self.seen = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def test_running_bot_picks_up_a_rebuilt_index_without_restart(botapi, run_bot, index_copy, embedder, tmp_path):
    serving = Engine(make_settings(SEEDS, index_copy), embedder=embedder)
    serving.load()
    reloaded = LogWaiter("Now answering from the rebuilt index (4 articles)")
    logging.getLogger("bot.telegram").addHandler(reloaded)
    try:
        run_bot(serving, BOT_INDEX_CHECK_SECONDS="1")
        alice = botapi.new_user("Alice")
        assert "5 indexed articles" in botapi.wait_for_replies(botapi.send_command(alice, "sources"))[0].plain
        corpus = tmp_path / "corpus"
        shutil.copytree(SEEDS, corpus)
        (corpus / "002_37fe6401c5483390.txt").unlink()
        Engine(make_settings(corpus, index_copy), embedder=embedder).build(progress=False)  # `newsbot index`
        assert reloaded.seen.wait(15), "the bot noticed the new index"
        listed = botapi.wait_for_replies(botapi.send_command(alice, "sources"))[0].plain
        assert "4 indexed articles" in listed
        assert "1992" in botapi.wait_for_replies(botapi.send_text(alice, QUESTION))[0].plain
    finally:
        logging.getLogger("bot.telegram").removeHandler(reloaded)


# --------------------------------------------------------------------------- the bot as a process: signals

STUB_BOT = """
import sys
from retrieval.types import Answer
from retrieval.settings import Settings
from bot.telegram import run_telegram

class HoldingEngine:
    '''Answers at once, except that a question with HOLD waits for a line on stdin.'''

    def sources(self):
        return []

    def answer(self, question):
        if "HOLD" in question:
            print("holding", flush=True)
            sys.stdin.readline()
        return Answer(question, declined=True, declined_reason="stub")

    def reload_if_changed(self):
        print("reloaded", flush=True)
        return True

run_telegram(Settings.from_env(), HoldingEngine(), None, "127.0.0.1", 8080, None)
print("stopped cleanly", flush=True)
"""


class BotProcess:
    """``STUB_BOT`` in a subprocess against the stand-in, its output lines readable with a timeout."""

    def __init__(self, botapi):
        env = bot_process_env(PYTHONPATH=str(PROJECT_ROOT), TELEGRAM_BOT_TOKEN=botapi.token, BOT_LOG_LEVEL="DEBUG",
                              TELEGRAM_API_BASE_URL=botapi.root_url, BOT_QUESTIONS_PER_MINUTE="0",
                              BOT_INDEX_CHECK_SECONDS="0")
        self.proc = subprocess.Popen([sys.executable, "-c", STUB_BOT], env=env, cwd=PROJECT_ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, q, lines in ((self.proc.stdout, self.out, self.stdout), (self.proc.stderr, self.err, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, q, lines), daemon=True).start()

    @staticmethod
    def _pump(stream, q: queue.Queue, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            q.put(line)

    @staticmethod
    def expect(q: queue.Queue, text: str, timeout: float = 30) -> str:
        """Wait for a line containing ``text``."""
        while True:
            line = q.get(timeout=timeout)
            if text in line:
                return line

    def finish(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def bot_process(botapi):
    started: list[BotProcess] = []

    def start() -> BotProcess:
        started.append(BotProcess(botapi))
        botapi.wait_until_polling(timeout=60)
        return started[-1]

    yield start
    for p in started:
        p.kill()
        secret = botapi.token.split(":", 1)[1]
        assert secret not in "".join(p.stdout + p.stderr), "the token reached the process's output"


def test_stop_signals_answer_every_fetched_update_and_leave_the_rest_for_redelivery(botapi, bot_process):
    bot = bot_process()
    alice, bob = botapi.new_user("Alice"), botapi.new_user("Bob")
    held = botapi.send_text(alice, "HOLD first")
    BotProcess.expect(bot.out, "holding")
    behind = botapi.queue(botapi.make_text(alice, "second"), botapi.make_text(alice, "third"),
                          botapi.make_text(bob, "elsewhere"))
    botapi.wait_for_replies(behind[-1])  # the batch is in the bot's hands; Alice's two wait behind "HOLD first"
    bot.proc.send_signal(signal.SIGTERM)
    botapi.wait_for(lambda s: any(float(c.params.get("timeout", -1)) == 0 for c in s.calls_to("getUpdates")),
                    what="the updater's last getUpdates confirming what it fetched")
    late = botapi.send_text(bob, "sent after the bot stopped polling")
    bot.proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C must not drop the answers in hand
    BotProcess.expect(bot.err, "Already stopping")
    bot.proc.stdin.write("\n")  # let the held answer finish
    bot.proc.stdin.flush()
    assert bot.finish() == 0
    assert "stopped cleanly" in "".join(bot.stdout)
    one_reply_each_in_order(botapi, [held, *behind])
    assert botapi.replies_to(late) == []
    assert botapi.confirmed_up_to < late["update_id"] and late in botapi.pending, "Telegram re-delivers it"
    assert "Traceback" not in "".join(bot.stderr)


def test_sighup_reloads_the_index_of_a_running_bot(botapi, bot_process):
    bot = bot_process()
    bot.proc.send_signal(signal.SIGHUP)
    BotProcess.expect(bot.out, "reloaded")
    alice = botapi.new_user("Alice")
    botapi.wait_for_replies(botapi.send_text(alice, "still answering?"))
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.finish() == 0
