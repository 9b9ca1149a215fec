"""The console chat: a read-answer-print loop over the shared engine."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Callable, TextIO

from bot.wrap import span_words, terminal_width, wrap, wrap_block, wrap_words
from retrieval.engine import Engine
from retrieval.errors import StoreUnavailable
from retrieval.feedback.log import Asker, QuestionLog
from retrieval.types import HEDGE, Answer, Source

HELP = """Ask a question about the articles in plain English, e.g.
  {example}
Commands: /sources  list the indexed articles
          /good     the last answer helped (/bad: it did not)
          /help     this text
          /quit     leave (Ctrl-D works too)"""
RATED = "Thanks: noted {thumb} for the last answer."
NOTHING_TO_RATE = "Nothing to rate yet: ask a question first."
NOT_LOGGING = "The question log is off (BOT_LOG_QUESTIONS=0), so ratings are not kept."


class Style:
    """ANSI emphasis on a terminal (unless NO_COLOR is set), ** markers elsewhere."""

    def __init__(self, out: TextIO):
        self.ansi = hasattr(out, "isatty") and out.isatty() and not os.environ.get("NO_COLOR")

    def bold(self, s: str) -> str:
        return f"\033[1m{s}\033[0m" if self.ansi else f"**{s}**"

    def dim(self, s: str) -> str:
        return f"\033[2m{s}\033[0m" if self.ansi else s

    def emphasise(self, words: list[str], start: int, end: int) -> list[str]:
        """``words`` with ``words[start:end]`` bold: each word on a terminal (so a wrapped line never
        carries an open code), one pair of markers around the run elsewhere (they take room as shown)."""
        words = list(words)
        if start >= end:
            return words
        if self.ansi:
            words[start:end] = [self.bold(w) for w in words[start:end]]
        else:
            words[start], words[end - 1] = "**" + words[start], words[end - 1] + "**"
        return words


def citation(title: str, outlet: str, date: str, file: str) -> str:
    """"Title — Outlet, date (file)", leaving out what the article does not state."""
    meta = ", ".join(x for x in (outlet, date) if x)
    return f"{title} — {meta} ({file})" if meta else f"{title} ({file})"


def render_answer(answer: Answer, style: Style, width: int | None = None) -> str:
    """Answer -> console text wrapped to ``width`` (the terminal's): highlight first, then each passage
    with the answering sentence emphasised where it sits, and its citation."""
    width = width or terminal_width()
    lines: list[str] = []
    if answer.notice:
        lines += wrap(answer.notice, width)
    if answer.declined:
        if not answer.unusable:
            lines += wrap("I could not find an answer to that in the articles. "
                          "Type /sources to see what they cover.", width)
        return "\n".join(lines)
    if answer.hedged:
        lines += [style.dim(line) for line in wrap(HEDGE, width)]
    words = answer.answer_sentence.split()
    lines += wrap_words(style.emphasise(words, 0, len(words)), width)
    for i, hit in enumerate(answer.passages, 1):
        marked = style.emphasise(hit.text.split(), *span_words(hit.text, hit.sentence))
        lines.append("")
        lines += wrap_words(marked, width, f"[{i}] ", "    ")
        p = hit.passage
        lines += [style.dim(line) for line in
                  wrap(f"Source: {citation(p.title, p.outlet, p.date, p.file)}", width, "    ", "      ")]
        if p.url:
            lines.append(style.dim(f"    {p.url}"))  # whole, never wrapped: a terminal can open it
    return "\n".join(lines)


def render_sources(sources: list[Source], width: int | None = None) -> str:
    """The indexed articles, one citation each, wrapped to ``width`` (the terminal's)."""
    width = width or terminal_width()
    lines = wrap(f"{len(sources)} articles indexed:", width)
    for s in sources:
        lines += wrap(citation(s.title, s.outlet, s.date, s.file), width, "  • ", "    ")
    return "\n".join(lines)


def _enable_line_editing() -> None:
    """Arrow keys and a persistent history, where the platform has readline."""
    try:
        import atexit
        import readline
    except ImportError:
        return
    history = Path(os.environ.get("BOT_HISTORY_FILE", Path.home() / ".newsbot_history"))
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)
    atexit.register(lambda: _save_history(readline, history))


def _save_history(readline, history: Path) -> None:
    try:
        readline.write_history_file(history)
    except OSError:
        pass


def rate_last(log: QuestionLog, user: str, answer_id: str, up: bool) -> str:
    """/good or /bad: rate the last answer; what to tell the user."""
    if not log.enabled:
        return NOT_LOGGING
    if not answer_id:
        return NOTHING_TO_RATE
    log.rate(answer_id, user, up)
    return RATED.format(thumb="👍" if up else "👎")


def run_chat(engine: Engine, read: Callable[[str], str] = input, out: TextIO = sys.stdout,
             log: QuestionLog | None = None, user: str = "") -> None:
    """Loop until /quit or end of input; every line goes to the engine unchanged, and into the question log."""
    log = log or QuestionLog.open(engine.settings)
    try:
        _chat(engine, read, out, log, Asker("console", user or local_user()))
    finally:
        log.close()


def local_user() -> str:
    """Who is at this terminal (the login name), for the console and ``ask`` doors of the question log."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name in the environment or the password database (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "local"


def _chat(engine: Engine, read: Callable[[str], str], out: TextIO, log: QuestionLog, asker: Asker) -> None:
    style = Style(out)
    last = ""  # the answer id /good and /bad rate
    if read is input and sys.stdin.isatty():
        _enable_line_editing()
    print(wrap_block(f"Ask about the {len(engine.sources())} indexed articles. /help for commands, /quit to leave.",
                     terminal_width()), file=out)
    while True:
        try:
            line = read("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return
        command = line.strip().lower()
        if command in ("/quit", "/exit", "/q"):
            return
        if command in ("/help", "/?"):
            print(wrap_block(HELP.format(example=engine.settings.example_question), terminal_width(), hang=10),
                  file=out)
        elif command == "/sources":
            print(render_sources(engine.sources()), file=out)
        elif command in ("/good", "/bad"):
            print(rate_last(log, asker.user, last, command == "/good"), file=out)
        elif command.startswith("/") and " " not in command:
            print(wrap_block(f"Unknown command {command}. /help lists the commands.", terminal_width()), file=out)
        else:
            try:
                logged = log.answer(engine.answer, line, asker)
            except StoreUnavailable:  # the next question reconnects by itself
                print(wrap_block("The archive is briefly unavailable. Please ask again in a minute.",
                                 terminal_width()), file=out, flush=True)
                continue
            last = logged.answer_id if not logged.answer.unusable else last
            print(render_answer(logged.answer, style), file=out, flush=True)
