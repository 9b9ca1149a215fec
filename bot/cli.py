"""Command line: ``newsbot [chat|index|ask|eval|add|watch|report|forget|telegram]`` (also ``python -m bot``).

Errors reach the user as one line naming what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path

from bot.wrap import terminal_width, wrap
from retrieval.engine import Engine
from retrieval.errors import CorpusProblem, IndexProblem, ModelProblem
from retrieval.feedback.log import Asker, QuestionLog
from retrieval.types import BuildReport
from retrieval.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsbot", description="Answers questions from a folder of news articles.")
    p.add_argument("--corpus", type=Path, help="folder of .txt/.md/.html articles (env BOT_CORPUS_DIR; default seeds/)")
    p.add_argument("--index-dir", type=Path, help="where the index lives (env BOT_INDEX_DIR; default .index/)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description)

    command("chat", "interactive console chat (the default); builds the index if there is none",
            "Ask questions in the console and read each answer with the passages it comes from, wrapped "
            "to the terminal. Builds or updates the index first when the corpus changed. /help lists the commands.")
    command("index", "rebuild the index from the corpus folder",
            "Read, clean, split and embed every .txt/.md article in the corpus folder and publish a new "
            "index; unchanged texts reuse their vectors. Files that cannot be used are listed with the reason.")
    ask = command("ask", "answer one question, or '-' to read questions from standard input",
                  "Answer a question from the articles and print it as the console shows it, or as one JSON "
                  "object per answer with --json (fields: docs/cli.md).")
    ask.add_argument("question", help="the question, or '-' for one per line (plain or JSON with a \"q\" field)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ev = command("eval", "measure retrieval on a JSONL question file (like eval/dev.jsonl)",
                 "Ask every question in a JSONL file and print how often the right passage and sentence come "
                 "first, and how often off-topic questions are declined.")
    ev.add_argument("file", type=Path, help="JSONL with q, answers and kind (in = answerable, ood = off-topic) per line, optionally src (squad2-impossible = near-topic, far = far off-topic)")
    ev.add_argument("--misses", action="store_true", help="also list the questions that missed")
    add = sub.add_parser("add", help="add web pages (http/https URLs) or saved .html files to the corpus, "
                                     "then update the index")
    add.add_argument("sources", nargs="+", metavar="URL_OR_FILE", help="page addresses or .html files")
    watch = sub.add_parser("watch", help="poll RSS/Atom feeds and add their new articles, updating the index")
    watch.add_argument("feeds", nargs="+", metavar="FEED_URL", help="feed addresses (http/https)")
    watch.add_argument("--every", type=float, metavar="MINUTES",
                       help="minutes between polls (env BOT_WATCH_MINUTES; default 30)")
    watch.add_argument("--once", action="store_true", help="poll once and exit (for cron); exit 2 on any problem")
    rep = sub.add_parser("report", help="what people asked, what the articles do not answer or barely cover, feedback "
                         "(env BOT_DB_PATH)")
    rep.add_argument("--days", type=_days, default=30, help="how many days back, today included (default: %(default)s)")
    rep.add_argument("--json", action="store_true", help="print the report as one JSON object")
    rep.add_argument("--html", type=Path, metavar="FILE", help="also write it as a self-contained HTML page with charts")
    fg = sub.add_parser("forget", help="delete one person's logged questions and ratings")
    fg.add_argument("--user", required=True, metavar="ID",
                    help="their Telegram user id (numeric), or the login name for console and ask")
    try:
        from bot.telegram import add_telegram_arguments
    except ImportError:  # the Telegram door is optional at import time
        add_telegram_arguments = None
    if add_telegram_arguments is not None:
        add_telegram_arguments(command(
            "telegram", "run the Telegram bot",
            "Run the Telegram bot over the indexed articles: long polling by default, or a webhook with "
            "--webhook-url. Needs TELEGRAM_BOT_TOKEN (env or .env); builds the index first if there is none."))
    return p


def _days(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days must be a whole number, got {raw!r}") from None
    if not 1 <= days <= 36500:
        raise argparse.ArgumentTypeError(f"--days must be between 1 and 36500, got {days}")
    return days


def _settings(args: argparse.Namespace) -> Settings:
    s = Settings.from_env()
    if args.corpus:
        s = replace(s, corpus_dir=args.corpus.expanduser().resolve())
    if args.index_dir:
        s = replace(s, index_dir=args.index_dir.expanduser().resolve())
    return s


def _summary(report: BuildReport) -> str:
    lines = [f"Indexed {report.files - len(report.skipped)} of {report.files} files: "
             f"{report.passages} passages in {report.seconds:.1f} s "
             f"({report.embedded} texts embedded, {report.reused} reused)."]
    lines += [f"  skipped {s.file}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


def _notice(text: str) -> None:
    """A start-up notice on stderr: wrapped to the terminal for a person, one line for a log or a script."""
    print("\n".join(wrap(text, terminal_width())) if sys.stderr.isatty() else text, file=sys.stderr)


def _ready_engine(settings: Settings) -> Engine:
    engine = Engine(settings)
    report = engine.ensure_index(progress=sys.stderr.isatty(), notify=_notice)
    if report is not None:
        print(_summary(report), file=sys.stderr)
    return engine


def _questions(stream) -> list[str]:
    out = []
    for line in stream:
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                out.append(str(json.loads(line)["q"]))
                continue
            except (ValueError, KeyError, TypeError):
                pass
        out.append(line)
    return out


def cmd_ask(engine: Engine, args) -> int:
    from bot.console import Style, local_user, render_answer

    questions = _questions(sys.stdin) if args.question == "-" else [args.question]
    style = Style(sys.stdout)
    log = QuestionLog.open(engine.settings)
    asker = Asker("ask", local_user())
    try:
        for q in questions:
            answer = log.answer(engine.answer, q, asker).answer
            if args.json:
                print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
            else:
                print(render_answer(answer, style), flush=True)
    finally:
        log.close()
    return 0


def cmd_report(settings: Settings, args) -> int:
    from retrieval.embed.models import make_embedder
    from retrieval.feedback.report import build_report, read_log, report_text
    from retrieval.feedback.report_html import report_html

    now = time.time()
    since = time.mktime(time.localtime(now - (args.days - 1) * 86400)[:3] + (0, 0, 0, 0, 0, -1))  # that day's start
    questions, ratings = read_log(settings.db_path, since)
    embedder = make_embedder(settings)
    report = build_report(questions, ratings, lambda texts: embedder.encode(texts), args.days, now)
    if args.html:
        try:
            args.html.expanduser().write_text(report_html(report), encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.html}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.html}", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False) if args.json else report_text(report))
    return 0


def cmd_forget(settings: Settings, args) -> int:
    from retrieval.feedback.db import forget

    questions, ratings = forget(settings.db_path, args.user)
    print(f"Deleted {questions} question{'s' if questions != 1 else ''} and {ratings} "
          f"rating{'s' if ratings != 1 else ''} of that user from {settings.db_path}.")
    return 0


def cmd_eval(engine: Engine, args) -> int:
    from retrieval.evaluate import evaluate, read_questions

    report = evaluate(read_questions(args.file), engine.answer)
    print(report.table())
    if args.misses:
        print("\n".join(["", "misses:"] + [f"  {m}" for m in report.misses]))
    return 0


def _added_line(added) -> str:
    from bot.console import citation

    a = added.article
    return (f"{'Updated' if added.replaced else 'Added'} {added.file}: {citation(a.title, a.outlet, a.date, a.url)}")


def cmd_add(settings: Settings, args) -> int:
    """Fetch and check every source first, write the good ones, then one incremental build."""
    from retrieval.ingest.fetch import FetchLimits, FetchProblem
    from retrieval.ingest.web import prepare, write

    limits, ready, failed = FetchLimits.from_settings(settings), [], 0
    for source in args.sources:
        try:
            ready.append(prepare(source, limits))
        except FetchProblem as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    if ready:
        for item in ready:
            print(_added_line(write(item, settings.corpus_dir)))
        print(_summary(Engine(settings).build(progress=sys.stderr.isatty())))
    return 2 if failed else 0


def cmd_watch(settings: Settings, args) -> int:
    """Poll the feeds (once, or every ``--every`` minutes until stopped); each new item as ``add`` does."""
    import signal
    import threading

    from retrieval.ingest.feeds import Watcher
    from retrieval.ingest.fetch import FetchLimits, FetchProblem

    every = settings.watch_minutes if args.every is None else args.every
    if every <= 0:
        raise ValueError(f"--every must be a positive number of minutes, got {every:g}")
    try:
        watcher = Watcher(args.feeds, FetchLimits.from_settings(settings), settings.corpus_dir)
    except FetchProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = Engine(settings)
    while True:
        poll = watcher.poll()
        for problem in poll.problems:
            print(f"error: {problem}", file=sys.stderr, flush=True)
        for added in poll.added:
            print(_added_line(added), flush=True)
        if poll.added:
            print(_summary(engine.build(progress=sys.stderr.isatty())), flush=True)
        print(f"{len(args.feeds)} feed(s), {poll.items} items, {len(poll.added)} new", file=sys.stderr, flush=True)
        if args.once:
            return 2 if poll.problems else 0
        if stop.wait(every * 60):
            return 0


def _load_dotenv() -> None:
    """Let ``.env`` fill in variables the environment lacks (options read their defaults there)."""
    from dotenv import load_dotenv

    from retrieval.settings import PROJECT_ROOT

    for path in (PROJECT_ROOT / ".env", Path.cwd() / ".env"):
        if path.is_file():
            load_dotenv(path, override=False)


def _tolerant_stdio() -> None:
    """Undecodable input bytes become U+FFFD instead of a crash (or lone surrogates) mid-chat."""
    for stream in (sys.stdin, sys.stdout):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    _load_dotenv()
    _tolerant_stdio()
    args = _parser().parse_args(argv)
    command = args.command or "chat"
    try:
        settings = _settings(args)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if command == "index":
            report = Engine(settings).build(progress=sys.stderr.isatty())
            print(_summary(report))
            return 0
        if command in ("add", "watch"):
            return {"add": cmd_add, "watch": cmd_watch}[command](settings, args)
        if command in ("report", "forget"):
            return {"report": cmd_report, "forget": cmd_forget}[command](settings, args)
        if command == "telegram":
            from bot.telegram import run_from_args

            return run_from_args(settings, args) or 0
        engine = _ready_engine(settings)
        if command == "chat":
            from bot.console import run_chat

            run_chat(engine)
            return 0
        return {"ask": cmd_ask, "eval": cmd_eval}[command](engine, args)
    except (IndexProblem, CorpusProblem, ModelProblem, SettingsError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"error: the question log {settings.db_path} cannot be used: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
