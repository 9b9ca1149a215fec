"""Load run: simulated Telegram users in bursts against the real running bot, over loopback only.

    python benchmarks/load.py [--users 200] [--questions 2000] [--seed 1] [--timeout 300]

The bot runs as its own process, as in production: the real ``Application``
(handlers, per-chat ordering, answer workers) with the real engine over the
shipped articles (a throwaway index built from ``seeds/`` unless ``--index-dir``
names one), polling the Bot API stand-in from the tests (``tests/botapi_standin.py``)
on 127.0.0.1 in this process. Users send their questions in bursts;
the script checks that every question got exactly one reply, in order within each
chat, then stops the bot with SIGTERM (a graceful stop, so a late duplicate would
still show) and prints one table. It stops by itself: after the last reply, or at
``--timeout`` seconds with what it has (exit status 1 when anything was lost,
duplicated or out of order).

The per-user question limit and the outgoing flood limiter are switched off for the
run: the limit would (rightly) tell 10-question users to slow down, and the flood
limiter would pace replies at Telegram's 30 messages/s, measuring Telegram's limit
rather than the bot. Needs the test extra (``pip install -e ".[test]"``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.botapi_standin import BotApiStandIn  # noqa: E402

BOT = """
import asyncio
from bot.telegram import POLLING, PatientRateLimiter, build_application
from retrieval.engine import Engine
from retrieval.settings import Settings

settings = Settings.from_env()
engine = Engine(settings)
engine.ensure_index(progress=False)
engine.answer("When were diplomatic relations established?")  # the model loads before the first user arrives
print(len(engine.sources()), flush=True)
no_flood_limit = PatientRateLimiter(overall_max_rate=0, group_max_rate=0)
app = build_application(settings, engine, rate_limiter=no_flood_limit)
asyncio.set_event_loop(asyncio.new_event_loop())
app.run_polling(**POLLING)
"""

REALISTIC = [
    "When were diplomatic relations between China and Kazakhstan established?",
    "who is the chinese consul general in almaty",
    "What did Tokayev say about his visit to China?",
    "how much has trade between china and kazakhstan grown?",
    "What projects are part of the Belt and Road in Kazakhstan?",
    "When is Xi Jinping expected to visit Kazakhstan?",
    "what did the foreign ministers agree on",
    "Which outlet reported the roundtable in Almaty?",
    "What are the next 30 golden years?",
    "Is there cooperation on energy between the two countries?",
    "what happened on january 3 2022",
    "Who attended the roundtable on China-Kazakhstan cooperation?",
    "What is the weather in Astana tomorrow?",  # off-topic: declined
    "hello",
    "/sources",
    "/help",
]


def question_pool(dev: Path) -> list[str]:
    pool = list(REALISTIC)
    if dev.is_file():
        pool += [json.loads(line)["q"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    return pool


def make_update(standin: BotApiStandIn, user: dict, text: str) -> dict:
    if text.startswith("/"):
        return standin.make_command(user, text[1:])
    return standin.make_text(user, text)


def send_in_bursts(standin: BotApiStandIn, users: list[dict], per_user: list[list[str]], rng: random.Random,
                   asked_at: dict[int, float]) -> list[dict]:
    """Queue every user's questions in bursts of 20-300 messages (a user may appear several times in one)."""
    remaining = {u["id"]: list(qs) for u, qs in zip(users, per_user)}
    by_id = {u["id"]: u for u in users}
    asked: list[dict] = []
    while remaining:
        burst = []
        for _ in range(rng.randint(20, 300)):
            if not remaining:
                break
            uid = rng.choice(list(remaining))
            burst.append(make_update(standin, by_id[uid], remaining[uid].pop(0)))
            if not remaining[uid]:
                del remaining[uid]
        now = time.monotonic()
        for update in burst:
            asked_at[update["update_id"]] = now
        asked += standin.queue(*burst)
        time.sleep(rng.uniform(0.0, 0.3))  # the gap between bursts
    return asked


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def tally(standin: BotApiStandIn, asked: list[dict], asked_at: dict[int, float]) -> dict:
    first_reply_at: dict[tuple[int, int], float] = {}
    for call in standin.calls_to("sendMessage"):
        reply = call.params.get("reply_parameters") or {}
        if call.status == 200 and reply:
            key = (int(call.params["chat_id"]), int(reply["message_id"]))
            first_reply_at.setdefault(key, call.at)
    counts = {u["update_id"]: len(standin.replies_to(u)) for u in asked}
    latencies = []
    for u in asked:
        m = u["message"]
        at = first_reply_at.get((m["chat"]["id"], m["message_id"]))
        if at is not None:
            latencies.append(at - asked_at[u["update_id"]])
    out_of_order = 0
    chats = defaultdict(list)
    for u in asked:
        chats[u["message"]["chat"]["id"]].append(u["message"]["message_id"])
    for chat, asked_ids in chats.items():
        position = {mid: i for i, mid in enumerate(asked_ids)}
        replied = [position[s.reply_to] for s in standin.messages_in(chat) if s.reply_to in position]
        out_of_order += sum(1 for a, b in zip(replied, replied[1:]) if b < a)
    first = min(asked_at.values())
    last = max(first_reply_at.values(), default=first)
    replies = sum(counts.values())
    return {
        "questions": len(asked),
        "replies": replies,
        "lost": sum(1 for n in counts.values() if n == 0),
        "duplicated": sum(n - 1 for n in counts.values() if n > 1),
        "out_of_order": out_of_order,
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
        "replies_per_second": replies / (last - first) if last > first else float("nan"),
        "wall": last - first,
        "arrival": max(asked_at.values()) - first,
        "rejected": len(standin.rejected),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=200, help="simulated users, one private chat each")
    p.add_argument("--questions", type=int, default=2000, help="questions in total, spread evenly over the users")
    p.add_argument("--seed", type=int, default=1, help="random seed for questions and bursts")
    p.add_argument("--timeout", type=float, default=300, help="give up waiting for replies after this many seconds")
    p.add_argument("--index-dir", type=Path, help="use this index of the shipped articles instead of a fresh one")
    p.add_argument("--dev", type=Path, default=ROOT / "eval" / "dev.jsonl", help="more questions (JSONL, 'q')")
    args = p.parse_args(argv)
    if args.users < 1 or args.questions < args.users:
        p.error("need at least one user and at least one question per user")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    rng = random.Random(args.seed)
    pool = question_pool(args.dev)
    per_user = [[rng.choice(pool) for _ in range(args.questions // args.users + (i < args.questions % args.users))]
                for i in range(args.users)]
    with tempfile.TemporaryDirectory(prefix="newsbot-load-") as tmp, BotApiStandIn() as standin:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
        env.update(PYTHONPATH=str(ROOT), BOT_CORPUS_DIR=str(ROOT / "seeds"),
                   BOT_INDEX_DIR=str(args.index_dir or Path(tmp) / "index"), BOT_QUESTIONS_PER_MINUTE="0",
                   BOT_INDEX_CHECK_SECONDS="0", BOT_LOG_LEVEL="WARNING", TELEGRAM_BOT_TOKEN=standin.token,
                   BOT_DB_PATH=str(Path(tmp) / "log.sqlite"),  # logged as in service, not into the operator's log
                   TELEGRAM_API_BASE_URL=standin.root_url)
        log_path = Path(tmp) / "bot.log"
        with open(log_path, "w") as log:
            bot = subprocess.Popen([sys.executable, "-c", BOT], env=env, cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=log)
        try:
            articles = bot.stdout.readline().strip()  # printed once the index is loaded and the model warm
            standin.wait_until_polling(timeout=args.timeout)
            users = [standin.new_user(f"User{i}") for i in range(args.users)]
            asked_at: dict[int, float] = {}
            asked = send_in_bursts(standin, users, per_user, rng, asked_at)
            try:
                standin.wait_for(lambda s: all(s.replies_to(u) for u in asked), timeout=args.timeout,
                                 what=f"a reply to each of {len(asked)} questions")
            except AssertionError as exc:
                print(f"stopped waiting: {str(exc)[:300]}", file=sys.stderr)
            bot.send_signal(signal.SIGTERM)  # graceful: anything still in hand is sent before it exits
            bot.wait(60)
        finally:
            if bot.poll() is None:
                bot.kill()
        figures = tally(standin, asked, asked_at)
        bot_log = log_path.read_text(errors="replace")
        token_logged = standin.token.split(":", 1)[1] in bot_log

    print(f"Load run: {args.users} users, {figures['questions']} questions in bursts of 20-300, seed {args.seed}; "
          f"the bot as its own process with the real engine ({articles} shipped articles), "
          f"Bot API stand-in on 127.0.0.1; {os.cpu_count()} CPUs.")
    print("Per-user limit off (questions_per_minute=0); flood limiter off (AIORateLimiter overall/group rate 0).")
    print()
    rows = [
        ("questions", f"{figures['questions']}"),
        ("questions arrived within", f"{figures['arrival']:.1f} s"),
        ("replies", f"{figures['replies']}"),
        ("lost", f"{figures['lost']}"),
        ("duplicated", f"{figures['duplicated']}"),
        ("out of order", f"{figures['out_of_order']}"),
        ("refused by the API (bad HTML, too long)", f"{figures['rejected']}"),
        ("reply latency p50", f"{figures['p50'] * 1000:.0f} ms"),
        ("reply latency p95", f"{figures['p95'] * 1000:.0f} ms"),
        ("reply latency p99", f"{figures['p99'] * 1000:.0f} ms"),
        ("replies per second", f"{figures['replies_per_second']:.0f}"),
        ("wall time (first question to last reply)", f"{figures['wall']:.1f} s"),
        ("token in the bot's log", "yes" if token_logged else "no"),
        ("bot exit status after SIGTERM", f"{bot.returncode}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'figure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    ok = not (figures["lost"] or figures["duplicated"] or figures["out_of_order"] or figures["rejected"]
              or token_logged or bot.returncode != 0)
    print()
    print("every question got exactly one reply, in order" if ok else "FAILED: see the table; the bot's log ends:")
    if not ok:
        print(bot_log[-3000:])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
