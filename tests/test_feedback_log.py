"""The question log on real SQLite files: what a row holds, ratings, privacy, retention, and the faults
that must never get in the way of answering (a locked, read-only or full database, two writing processes)."""

from __future__ import annotations

import logging
import stat
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from retrieval.feedback.db import connect, forget
from retrieval.feedback.log import QUESTION_CHARS, Asker, QuestionLog
from retrieval.feedback.privacy import Salt, salt_path
from retrieval.feedback.report import build_report, read_log
from retrieval.settings import PROJECT_ROOT, Settings
from retrieval.types import Answer
from tests.feedback_helpers import read_only, rows, write_locked

ANSWERED = "when was diplomatic relations established?"
UNANSWERED = "What is the capital of Peru?"
NO_DOTENV = Path("/nonexistent")


def open_log(db, **kw) -> QuestionLog:
    """A log on ``db`` that retries quickly, so a test's faults clear within a flush."""
    return QuestionLog(db, Salt.beside(db), **{"busy_ms": 50, "retry_seconds": 0.05, **kw})


def warnings_from_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "retrieval.feedback.log" and r.levelno == logging.WARNING]


def test_a_row_holds_the_door_hashed_user_question_decline_sources_and_latency(engine, tmp_path):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    answered = log.answer(engine.answer, ANSWERED, Asker("telegram", "123456789", "private"))
    declined = log.answer(engine.answer, UNANSWERED, Asker("console", "alice"))
    assert log.close()
    first, second = rows(db)
    assert first["answer_id"] == answered.answer_id and second["answer_id"] == declined.answer_id
    assert (first["door"], first["chat_type"], first["question"], first["declined"]) == (
        "telegram", "private", ANSWERED, 0)
    assert '"001_c0144ea105606dd7.txt"' in first["sources"] and first["latency_ms"] > 0
    assert (first["hedged"], first["confidence"]) == (int(answered.answer.hedged),
                                                      round(answered.answer.confidence, 4)) != (0, 0.0)
    assert (second["door"], second["declined"], second["sources"]) == ("console", 1, "[]")
    assert second["reason"] == declined.answer.declined_reason != ""
    assert first["user_hash"] == Salt.beside(db).user(123456789) != second["user_hash"]
    assert "123456789" not in db.read_bytes().decode("latin-1"), "the raw user id is never stored"


def test_a_row_holds_whether_the_answer_was_hedged_and_its_confidence(tmp_path):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    log.asked(Asker("ask", "me"), "unsure", Answer("unsure", confidence=0.41237, hedged=True), 1.0)
    log.asked(Asker("ask", "me"), "sure", Answer("sure", confidence=0.9), 1.0)
    log.asked(Asker("ask", "me"), "declined", Answer("declined", declined=True, declined_reason="off"), 1.0)
    assert log.close()
    assert [(r["question"], r["hedged"], r["confidence"]) for r in rows(db)] == [
        ("unsure", 1, 0.4124), ("sure", 0, 0.9), ("declined", 0, 0.0)]


def test_the_salt_is_made_once_beside_the_database_and_kept_private(tmp_path):
    db = tmp_path / "data" / "log.sqlite"
    one, two = Salt.beside(db), Salt.beside(db)
    assert salt_path(db).parent == db.parent and stat.S_IMODE(salt_path(db).stat().st_mode) == 0o600
    assert one.user("42") == two.user(42) != Salt(b"another salt entirely!").user(42)
    assert len(one.user(42)) == 32 and int(one.user(42), 16) and one.user(42) != one.user(43)


def test_questions_are_stored_cut_to_the_cap(tmp_path):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    log.asked(Asker("ask", "me"), "why " * 1000, Answer("why", declined=True, declined_reason="x"), 1.0)
    assert log.close()
    assert len(rows(db)[0]["question"]) == QUESTION_CHARS


def test_undecodable_input_is_logged_with_replacement_characters_and_logging_goes_on(tmp_path):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    log.asked(Asker("console", "me"), "caf\udcff prices?", Answer("caf\udcff prices?"), 1.0)
    log.asked(Asker("console", "me"), "next question", Answer("next"), 1.0)
    assert log.close()
    assert [r["question"] for r in rows(db)] == ["caf\ufffd prices?", "next question"]


def test_a_second_rating_by_the_same_user_replaces_the_first_and_others_count_apart(tmp_path):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    answer_id = log.asked(Asker("telegram", "1"), "q", Answer("q"), 1.0)
    log.rate(answer_id, 7, up=True)
    log.rate(answer_id, 7, up=False)
    log.rate(answer_id, 8, up=True)
    assert log.close()
    ratings = {(r["user_hash"], r["up"]) for r in rows(db, "ratings")}
    assert ratings == {(Salt.beside(db).user(7), 0), (Salt.beside(db).user(8), 1)}


def test_log_questions_off_writes_nothing_and_gives_no_answer_ids(engine, tmp_path):
    db = tmp_path / "log.sqlite"
    settings = Settings.from_env(environ={"BOT_LOG_QUESTIONS": "0", "BOT_DB_PATH": str(db)}, dotenv=NO_DOTENV)
    log = QuestionLog.open(settings)
    logged = log.answer(engine.answer, ANSWERED, Asker("console", "alice"))
    log.rate(logged.answer_id, "alice", True)
    assert log.close() and not log.enabled
    assert logged.answer_id == "" and "1992" in logged.answer.answer_sentence
    assert not db.exists() and not salt_path(db).exists()


@pytest.mark.parametrize("name, raw", [("BOT_LOG_QUESTIONS", "maybe"), ("BOT_LOG_RETENTION_DAYS", "0"),
                                       ("BOT_LOG_RETENTION_DAYS", "ninety")])
def test_bad_log_settings_name_the_variable_and_value(name, raw):
    with pytest.raises(ValueError, match=f"^{name} .*{raw}"):
        Settings.from_env(environ={name: raw}, dotenv=NO_DOTENV)


def test_rows_older_than_the_retention_period_are_pruned(tmp_path):
    db = tmp_path / "log.sqlite"
    now = 1_900_000_000.0
    old = open_log(db, clock=lambda: now - 91 * 86400)
    old_id = old.asked(Asker("ask", "me"), "old question", Answer("old"), 1.0)
    old.rate(old_id, "me", True)
    assert old.close()
    recent = open_log(db, clock=lambda: now - 89 * 86400)
    recent.asked(Asker("ask", "me"), "recent question", Answer("recent"), 1.0)
    assert recent.close()
    assert [r["question"] for r in rows(db)] == ["old question", "recent question"], "within 90 days of then"
    today = open_log(db, retention_days=90, clock=lambda: now)
    today.asked(Asker("ask", "me"), "today's question", Answer("today"), 1.0)
    assert today.close()
    assert [r["question"] for r in rows(db)] == ["recent question", "today's question"]
    assert rows(db, "ratings") == []


def test_forget_deletes_one_users_questions_and_ratings_only(tmp_path):
    db = tmp_path / "log.sqlite"
    log = open_log(db)
    mine = log.asked(Asker("telegram", "1001"), "mine", Answer("mine"), 1.0)
    theirs = log.asked(Asker("telegram", "1002"), "theirs", Answer("theirs"), 1.0)
    log.rate(theirs, 1001, up=False)
    log.rate(mine, 1002, up=True)
    assert log.close()
    assert forget(db, "1001") == (1, 1)
    assert [r["question"] for r in rows(db)] == ["theirs"]
    assert [r["user_hash"] for r in rows(db, "ratings")] == [Salt.beside(db).user(1002)]
    assert forget(db, "1001") == (0, 0)
    assert forget(tmp_path / "none.sqlite", "1001") == (0, 0)


# --------------------------------------------------------------------------- an older file

# the schema as the log wrote it before it kept hedged and confidence (user_version 1), its comments left out
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS questions (
    answer_id  TEXT PRIMARY KEY,
    at         REAL NOT NULL,
    door       TEXT NOT NULL,
    chat_type  TEXT NOT NULL,
    user_hash  TEXT NOT NULL,
    question   TEXT NOT NULL,
    declined   INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    sources    TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_at ON questions(at);
CREATE INDEX IF NOT EXISTS questions_user ON questions(user_hash);
CREATE TABLE IF NOT EXISTS ratings (
    answer_id TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    up        INTEGER NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX IF NOT EXISTS ratings_at ON ratings(at);
PRAGMA user_version = 1;
"""
OLD_SOURCES = '[["001_c0144ea105606dd7.txt", "30 years of diplomatic relations"]]'
COLUMNS = ["answer_id", "at", "door", "chat_type", "user_hash", "question", "declined", "reason", "sources",
           "latency_ms", "hedged", "confidence"]


def version_1_log(db: Path) -> None:
    """A log file as the code before this schema made it (WAL mode), holding one answered question."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA_V1)
    conn.execute("INSERT INTO questions VALUES ('old1', ?, 'console', '', 'oldhash', ?, 0, '', ?, 12.5)",
                 (time.time(), ANSWERED, OLD_SOURCES))
    conn.close()


def schema(db: Path) -> tuple[int, list[str]]:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("PRAGMA user_version").fetchone()[0],
                [r[1] for r in conn.execute("PRAGMA table_info(questions)")])
    finally:
        conn.close()


def test_a_version_1_log_keeps_its_rows_gains_the_columns_and_reports(embedder, tmp_path):
    db = tmp_path / "log.sqlite"
    version_1_log(db)
    [before], _ = read_log(db, 0)  # the report reads it before any writer upgraded it
    assert (before.answer_id, before.hedged, before.confidence) == ("old1", False, 0)
    log = open_log(db)
    log.asked(Asker("ask", "me"), "Who won the mayoral election?", Answer("q", confidence=0.3, hedged=True), 1.0)
    assert log.close()
    version, columns = schema(db)
    assert (version, columns) == (2, COLUMNS)
    old, new = rows(db)
    assert {k: old[k] for k in ("answer_id", "question", "sources", "latency_ms", "hedged", "confidence")} == {
        "answer_id": "old1", "question": ANSWERED, "sources": OLD_SOURCES, "latency_ms": 12.5, "hedged": 0,
        "confidence": 0.0}
    assert (new["hedged"], new["confidence"]) == (1, 0.3)
    report = build_report(*read_log(db, 0), embedder.encode, days=1)
    assert (report["questions"], report["declined"], report["hedged"]) == (2, 0, 1)
    assert report["unsure"] == [{"q": "Who won the mayoral election?", "count": 1, "also": []}]
    assert forget(db, "me") == (1, 0) and [r["answer_id"] for r in rows(db)] == ["old1"]


def test_two_connections_upgrading_one_version_1_file_at_once_both_open_it(tmp_path):
    """Both read version 1 while a third holds the write lock; the second to get the lock finds the file
    upgraded already and adds nothing (adding a column twice would fail)."""
    db = tmp_path / "log.sqlite"
    version_1_log(db)
    opened: list[sqlite3.Connection] = []
    failed: list[Exception] = []

    def open_it() -> None:
        try:
            opened.append(connect(db, busy_ms=5000))
        except sqlite3.Error as exc:
            failed.append(exc)

    with write_locked(db):
        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # both are waiting for the lock, past their first look at the version
    for t in threads:
        t.join(10)
    for conn in opened:
        conn.close()
    assert failed == [] and len(opened) == 2
    assert schema(db) == (2, COLUMNS)
    assert [r["answer_id"] for r in rows(db)] == ["old1"]


def test_a_new_file_gets_the_whole_schema_at_once(tmp_path):
    db = tmp_path / "log.sqlite"
    connect(db).close()
    connect(db).close()  # opening it again changes nothing
    assert schema(db) == (2, COLUMNS)


# --------------------------------------------------------------------------- faults


def test_a_locked_database_holds_rows_warns_once_and_writes_them_when_free(engine, tmp_path, caplog):
    db = tmp_path / "log.sqlite"
    connect(db).close()
    log = open_log(db)
    with write_locked(db):
        for _ in range(3):
            logged = log.answer(engine.answer, ANSWERED, Asker("console", "alice"))
            assert "1992" in logged.answer.answer_sentence, "answering went on while the database was locked"
        assert not log.flush(timeout=0.5), "nothing can be written while another connection holds the lock"
    assert log.flush(timeout=10)
    assert len(rows(db)) == 3
    cannot = [m for m in warnings_from_log(caplog) if m.startswith("Cannot write")]
    assert len(cannot) == 1 and "locked" in cannot[0], "one warning for the whole time it was locked"
    assert log.close()


def test_a_read_only_database_file_warns_once_and_keeps_rows_until_it_is_writable(tmp_path, caplog):
    db = tmp_path / "log.sqlite"
    connect(db).close()
    log = open_log(db)
    with read_only(db):
        for i in range(3):
            log.asked(Asker("ask", "me"), f"question {i}", Answer("q"), 1.0)
        assert not log.flush(timeout=0.5)
    assert log.flush(timeout=10) and log.close()
    assert [r["question"] for r in rows(db)] == ["question 0", "question 1", "question 2"]
    cannot = [m for m in warnings_from_log(caplog) if m.startswith("Cannot write")]
    assert len(cannot) == 1 and "readonly" in cannot[0].replace("read-only", "readonly")


def test_a_read_only_folder_warns_once_and_keeps_rows_until_it_is_writable(tmp_path, caplog):
    folder = tmp_path / "data"
    db = folder / "log.sqlite"
    connect(db).close()  # the database and its salt exist; the folder then becomes read-only
    Salt.beside(db)
    log = open_log(db)
    with read_only(folder):
        log.asked(Asker("ask", "me"), "asked while read-only", Answer("q"), 1.0)
        assert not log.flush(timeout=0.5)
    assert log.flush(timeout=10) and log.close()
    assert [r["question"] for r in rows(db)] == ["asked while read-only"]
    assert len([m for m in warnings_from_log(caplog) if m.startswith("Cannot write")]) == 1


def test_no_salt_can_be_made_in_a_read_only_folder_so_the_log_is_off_with_one_warning(engine, tmp_path, caplog):
    folder = tmp_path / "data"
    folder.mkdir()
    settings = Settings.from_env(environ={"BOT_DB_PATH": str(folder / "log.sqlite")}, dotenv=NO_DOTENV)
    with read_only(folder):
        log = QuestionLog.open(settings)
        logged = log.answer(engine.answer, ANSWERED, Asker("console", "alice"))
    assert not log.enabled and logged.answer_id == "" and "1992" in logged.answer.answer_sentence
    [warning] = warnings_from_log(caplog)
    assert "Not logging questions" in warning and str(folder) in warning
    assert log.close()


def test_a_full_database_warns_once_and_answering_goes_on(tmp_path, caplog):
    db = tmp_path / "log.sqlite"
    conn = connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    log = open_log(db, max_pages=pages)  # no room for one more page: the disk is full
    for i in range(40):
        log.asked(Asker("ask", "me"), f"question {i} " + "x" * 400, Answer("q"), 1.0)
    assert not log.flush(timeout=0.5)
    assert not log.close(timeout=0.2)
    # the writer's first batch (however many questions were queued when it woke) can still fit in the free
    # space of the last page; no more than that page holds is written, every other row is counted lost and
    # none vanishes
    written = sqlite3.connect(db).execute("SELECT COUNT(*) FROM questions").fetchone()[0]
    assert written * 400 < page_size and log.lost == 40 - written
    messages = warnings_from_log(caplog)
    cannot = [m for m in messages if m.startswith("Cannot write")]
    assert len(cannot) == 1 and "full" in cannot[0]
    assert any(f"{log.lost} logged questions or ratings could not be written" in m for m in messages), "the loss is said"


def test_answering_threads_never_wait_for_a_locked_database(engine, tmp_path):
    """Eight threads log 50 questions each while the database is locked: every call returns."""
    db = tmp_path / "log.sqlite"
    connect(db).close()
    log = open_log(db, busy_ms=2000)
    finished = threading.Barrier(9)
    with write_locked(db):
        def ask() -> None:
            for i in range(50):
                log.asked(Asker("telegram", "1"), f"q{i}", Answer("q"), 1.0)
            finished.wait(10)

        for _ in range(8):
            threading.Thread(target=ask, daemon=True).start()
        finished.wait(10)  # raises BrokenBarrierError if any thread were stuck behind the lock
    assert log.close(timeout=15) and len(rows(db)) == 400


WRITER = """
import sys
from pathlib import Path
from retrieval.feedback.log import Asker, QuestionLog
from retrieval.feedback.privacy import Salt
from retrieval.types import Answer

db, name = Path(sys.argv[1]), sys.argv[2]
sys.stdin.readline()  # both processes start writing together
log = QuestionLog(db, Salt.beside(db), busy_ms=5000, batch=5)
for i in range(300):
    log.asked(Asker("console", name), f"{name} {i}", Answer("q"), 1.0)
    if i % 25 == 0:
        log.flush()
sys.exit(0 if log.close(30) else 1)
"""


def test_two_processes_write_the_same_file_and_agree_on_one_salt(tmp_path):
    db = tmp_path / "shared" / "log.sqlite"
    env = {"PYTHONPATH": str(PROJECT_ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), name], stdin=subprocess.PIPE,
                              cwd=PROJECT_ROOT, env=env, text=True, stderr=subprocess.PIPE) for name in ("bot", "chat")]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "Cannot write" not in err
    written = rows(db)
    assert len(written) == 600
    salt = Salt.beside(db)
    assert {r["user_hash"] for r in written} == {salt.user("bot"), salt.user("chat")}
