"""Command line: ``newsbot [chat|index|ask|eval|telegram]`` (also ``python -m bot``).

Errors reach the user as one line naming what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from retrieval.engine import Engine
from retrieval.errors import CorpusProblem, IndexProblem, ModelProblem
from retrieval.types import BuildReport
from retrieval.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsbot", description="Answers questions from a folder of news articles.")
    p.add_argument("--corpus", type=Path, help="folder of .txt/.md articles (env BOT_CORPUS_DIR; default seeds/)")
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


def _ready_engine(settings: Settings) -> Engine:
    engine = Engine(settings)
    report = engine.ensure_index(progress=sys.stderr.isatty(), notify=lambda why: print(why, file=sys.stderr))
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
    from bot.console import Style, render_answer

    questions = _questions(sys.stdin) if args.question == "-" else [args.question]
    style = Style(sys.stdout)
    for q in questions:
        answer = engine.answer(q)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(render_answer(answer, style), flush=True)
    return 0


def cmd_eval(engine: Engine, args) -> int:
    from retrieval.evaluate import evaluate, read_questions

    report = evaluate(read_questions(args.file), engine.answer)
    print(report.table())
    if args.misses:
        print("\n".join(["", "misses:"] + [f"  {m}" for m in report.misses]))
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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
