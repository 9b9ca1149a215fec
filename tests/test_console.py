"""The console's text fits the terminal: every line within its width, no word split, nothing lost,
the answering sentence still emphasised where it sits in its passage."""

from __future__ import annotations

import io
import json
import re

import pytest

from bot.console import Style, citation, render_answer, render_sources, run_chat
from bot.wrap import visible_len, wrap
from retrieval.types import HEDGE
from tests.conftest import DEV_SET

QUESTIONS = [json.loads(line)["q"] for line in DEV_SET.read_text().splitlines()[:8]]
ANSI = re.compile(r"\033\[[0-9;]*m")


class Terminal(io.StringIO):
    """Output that says it is a terminal, so the console emphasises with ANSI codes."""

    def isatty(self) -> bool:
        return True


def unwrapped(answer) -> str:
    """What the console says for ``answer``, word for word, before any wrapping or emphasis."""
    parts = ([HEDGE] if answer.hedged else []) + [answer.answer_sentence]
    for i, hit in enumerate(answer.passages, 1):
        p = hit.passage
        parts += [f"[{i}]", hit.text, "Source:", citation(p.title, p.outlet, p.date, p.file)]
    return " ".join(" ".join(parts).split())


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_answers_wrap_within_the_width_between_words_only(engine, width):
    for question in QUESTIONS:
        answer = engine.answer(question)
        assert not answer.declined, question
        shown = render_answer(answer, Style(io.StringIO()), width=width)
        lines = shown.splitlines()
        too_wide = [line for line in lines if len(line) > width and len(line.split()) > 1]
        assert not too_wide, f"{question!r} at {width} columns"
        assert " ".join(shown.replace("**", "").split()) == unwrapped(answer), "a word was split or lost"


@pytest.mark.parametrize("width", [40, 80])
def test_ansi_emphasis_takes_no_room_and_marks_the_sentence_in_its_passage(engine, width):
    answer = engine.answer(QUESTIONS[0])
    shown = render_answer(answer, Style(Terminal()), width=width)
    assert all(visible_len(line) <= width for line in shown.splitlines())
    assert max(len(line) for line in shown.splitlines()) > width, "the codes are there, just not counted"
    bold = re.findall(r"\033\[1m(.*?)\033\[0m", shown)
    first = answer.passages[0]
    assert " ".join(bold).count(first.sentence) >= 2, "the highlight and the sentence inside passage 1"
    assert " ".join(ANSI.sub("", shown).split()) == unwrapped(answer)


def test_emphasis_markers_count_toward_the_width_when_not_a_terminal(engine):
    answer = engine.answer(QUESTIONS[0])
    shown = render_answer(answer, Style(io.StringIO()), width=40)
    assert all(len(line) <= 40 for line in shown.splitlines())
    passage = " ".join(shown.split("[1]")[1].split())
    assert f"**{answer.passages[0].sentence}**" in passage


def test_a_word_wider_than_the_line_stands_alone_and_whole():
    word = "Zhongguancun-technology-park-administrative-committee"
    lines = wrap(f"It is the {word} that said so.", 20, "[1] ", "    ")
    assert f"    {word}" in lines or f"[1] {word}" in lines
    assert all(len(line) <= 20 for line in lines if word not in line)


def test_sources_help_and_chat_lines_wrap_to_the_terminal(engine, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    assert all(len(line) <= 40 for line in render_sources(engine.sources()).splitlines())
    out = io.StringIO()
    lines = iter(["/help", "/sources", QUESTIONS[0], "/nonsense"])

    def read(prompt: str) -> str:
        line = next(lines, None)
        if line is None:
            raise EOFError  # the end of input, as Ctrl-D gives it
        return line

    run_chat(engine, read=read, out=out)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 40 for line in lines if len(line.split()) > 1), [l for l in lines if len(l) > 40]
    said = " ".join(out.getvalue().split())
    assert "/quit leave (Ctrl-D works too)" in said and "5 articles indexed" in said
    assert "Unknown command /nonsense." in said


def test_declines_and_notices_wrap_too(engine):
    shown = render_answer(engine.answer("What is the capital of Peru?"), Style(io.StringIO()), width=40)
    assert shown and all(len(line) <= 40 for line in shown.splitlines())
    assert "could not find an answer" in " ".join(shown.split())
