"""The real command line in a subprocess, on real storage in temporary folders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from retrieval.settings import PROJECT_ROOT
from tests.conftest import DEV_SET, SEEDS, bot_process_env


def run(*args, stdin: str = "", env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True,
                          text=True, cwd=PROJECT_ROOT, env=bot_process_env(**(env or {})), timeout=timeout)


def test_ask_json_has_the_stable_shape(index_copy):
    res = run("--index-dir", str(index_copy), "ask", "--json", "when was diplomatic relations established?")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"q", "declined", "answer_sentence", "passages"}
    assert out["q"] == "when was diplomatic relations established?"
    assert out["declined"] is False
    first = out["passages"][0]
    assert set(first) >= {"text", "file", "title", "date", "outlet", "score"}
    assert "1992" in first["text"] and first["file"] == "001_c0144ea105606dd7.txt"


def test_ask_reads_plain_and_json_lines_from_stdin(index_copy):
    stdin = 'when was diplomatic relations established?\n\n{"q": "What is the capital of Peru?"}\n'
    res = run("--index-dir", str(index_copy), "ask", "-", "--json", stdin=stdin)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["q"] for r in rows] == ["when was diplomatic relations established?", "What is the capital of Peru?"]
    assert rows[0]["declined"] is False and rows[1]["declined"] is True
    assert rows[1]["passages"] == [] and rows[1]["declined_reason"]


def test_console_chat_loop_answers_lists_sources_and_quits(index_copy):
    stdin = "/help\n/sources\nwhen was diplomatic relations established?\n\n/bogus\n/quit\nnever read\n"
    res = run("--index-dir", str(index_copy), "chat", stdin=stdin)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "/sources" in out and "5 articles indexed" in out
    assert all(len(line) <= 80 for line in out.splitlines()), "wrapped to 80 columns when not a terminal"
    words = " ".join(out.split())  # as read, whatever the wrapping
    assert "Seetao" in words and "People's Daily" in words
    assert "**Since the establishment of diplomatic relations in 1992" in words
    assert ("Source: 30 years of diplomatic relations between China and Kazakhstan have been fruitful"
            " — Seetao, 2022-01-03 (001_c0144ea105606dd7.txt)") in words
    assert "Please type a question" in out
    assert "Unknown command /bogus" in out


def test_chat_builds_the_index_when_there_is_none(tmp_path):
    index = tmp_path / "fresh-index"
    res = run("--index-dir", str(index), "chat", stdin="/sources\n")
    assert res.returncode == 0, res.stderr
    assert "No index yet" in res.stderr and "Indexed 5 of 5 files" in res.stderr
    assert "5 articles indexed" in res.stdout


def test_index_command_reports_skipped_files_and_counts(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "latin.txt").write_bytes("Caf\xe9 prices rose in the city centre this year.".encode("latin-1"))
    res = run("--corpus", str(corpus), "--index-dir", str(tmp_path / "idx"), "index")
    assert res.returncode == 0, res.stderr
    assert "Indexed 5 of 7 files" in res.stdout
    assert "skipped empty.txt: empty file" in res.stdout
    assert "skipped latin.txt: not UTF-8" in res.stdout


def test_missing_corpus_and_missing_index_are_one_clear_line(tmp_path):
    res = run("--corpus", str(tmp_path / "nowhere"), "--index-dir", str(tmp_path / "idx"), "index")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: the corpus folder") and "BOT_CORPUS_DIR" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_missing_corpus_beside_a_built_index_is_one_clear_line_not_every_article_removed(tmp_path, index_copy):
    res = run("--corpus", str(tmp_path / "nowhere"), "--index-dir", str(index_copy), "ask", "hi")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: the corpus folder") and "BOT_CORPUS_DIR" in res.stderr
    assert "removed" not in res.stdout + res.stderr
    assert "Traceback" not in res.stderr


def test_eval_prints_the_figures_table(index_copy):
    res = run("--index-dir", str(index_copy), "eval", str(DEV_SET))
    assert res.returncode == 0, res.stderr
    for row in ("passage hit@1", "passage hit@3", "MRR@5", "answer-sentence hit@1", "off-topic declined",
                "answerable wrongly declined"):
        assert row in res.stdout
    shares = [float(line.split()[-3]) for line in res.stdout.splitlines()
              if line.startswith(("hedged answers", "other answers"))]
    assert len(shares) == 2 and abs(sum(shares) - 1.0) < 0.002, "every answer given is hedged or not"


def test_every_subcommand_help_has_a_description():
    res = run("--help")
    commands = ["chat", "index", "ask", "eval", "telegram"]
    assert all(c in res.stdout for c in commands)
    for command in commands:
        shown = run(command, "--help", env={"COLUMNS": "80"})
        assert shown.returncode == 0, shown.stderr
        paragraphs = shown.stdout.split("\n\n")
        assert len(paragraphs) > 1 and len(paragraphs[1].split()) >= 8, f"{command} --help says what it does"
        assert all(len(line) <= 80 for line in shown.stdout.splitlines())


def test_a_start_up_notice_is_wrapped_at_a_terminal_and_one_line_in_a_log(monkeypatch, capsys):
    import io

    from bot.cli import _notice

    text = ("The index's passages were cut by an older version of the cleaning and sentence splitting; it is "
            "served as it is.")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("COLUMNS", "40")
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    _notice(text)
    lines = screen.getvalue().splitlines()
    assert len(lines) > 1 and max(map(len, lines)) <= 40 and " ".join(lines) == text
    monkeypatch.undo()
    _notice(text)  # stderr captured: not a terminal
    assert capsys.readouterr().err == text + "\n"
