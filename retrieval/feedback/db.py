"""The log's SQLite file: its schema (and upgrading an older file's), connections in WAL mode, write
transactions, and forgetting one user.

WAL mode lets the bot and a console chat (two processes) write the same file: a writer waits up to
``busy_ms`` for the other's short transaction.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from retrieval.feedback.privacy import Salt

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    answer_id  TEXT PRIMARY KEY,
    at         REAL NOT NULL,      -- unix time the answer was ready
    door       TEXT NOT NULL,      -- telegram / console / ask
    chat_type  TEXT NOT NULL,      -- private / group / supergroup / channel; '' outside Telegram
    user_hash  TEXT NOT NULL,      -- salted hash of the user id (privacy.Salt), never the id
    question   TEXT NOT NULL,      -- as asked, cut to QUESTION_CHARS
    declined   INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    sources    TEXT NOT NULL,      -- JSON [[file, title], ...] of the passages shown
    latency_ms REAL NOT NULL,
    hedged     INTEGER NOT NULL DEFAULT 0,  -- shown as unsure (confidence under BOT_HEDGE_BELOW)
    confidence REAL NOT NULL DEFAULT 0      -- Answer.confidence, 0-1; 0 when declined
);
CREATE INDEX IF NOT EXISTS questions_at ON questions(at);
CREATE INDEX IF NOT EXISTS questions_user ON questions(user_hash);
CREATE TABLE IF NOT EXISTS ratings (
    answer_id TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    up        INTEGER NOT NULL,    -- 1 for a thumbs-up, 0 for a thumbs-down
    at        REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX IF NOT EXISTS ratings_at ON ratings(at);
PRAGMA user_version = 2;
"""
VERSION = 2
# what brings a file from the version it has to the next, its rows kept: version 1 did not log hedged and
# confidence, so its rows read as not hedged, confidence 0 (the columns go last, where SCHEMA has them too)
UPGRADES = {
    1: """
ALTER TABLE questions ADD COLUMN hedged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE questions ADD COLUMN confidence REAL NOT NULL DEFAULT 0;
PRAGMA user_version = 2;
""",
}


def connect(path: Path, busy_ms: int = 2000) -> sqlite3.Connection:
    """A connection in WAL mode with the schema in place (autocommit; transactions are explicit).

    Two processes opening a new file at once race to switch it to WAL and create the schema; SQLite
    answers some of those steps "locked" at once instead of waiting, so the set-up is tried again
    until ``busy_ms`` has passed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            return _open(path, busy_ms)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _open(path: Path, busy_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError(f"{path} cannot use WAL mode")
        conn.execute("PRAGMA synchronous = NORMAL")
        if _version(conn) < VERSION:
            with transaction(conn):  # the write lock first (waited for), then the schema or upgrade
                _upgrade(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _upgrade(conn: sqlite3.Connection) -> None:
    """Create the schema in a new file, or add what an older one lacks (its rows kept). Run under the write
    lock, and the version read again there: another process may have upgraded the file since, and an
    ``ALTER TABLE`` run twice fails where ``CREATE ... IF NOT EXISTS`` does not."""
    version = _version(conn)
    scripts = [SCHEMA] if version < 1 else [UPGRADES[v] for v in range(version, VERSION)]
    for statement in _statements("".join(scripts)):
        conn.execute(statement)


def _statements(script: str) -> list[str]:
    """The statements of ``script``, split where SQLite says one is complete (comments may hold ';')."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf)
            buf = ""
    return out


class transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): take the write lock up front, so a busy
    database is waited for once at the start rather than failing midway."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass


def forget(path: Path, user: object, busy_ms: int = 5000) -> tuple[int, int]:
    """Delete every question and rating of ``user`` (their raw id, hashed as the log hashes it):
    (questions, ratings) deleted. Nothing to delete when there is no log or no salt yet."""
    salt = Salt.beside(path, create=False)
    if salt is None or not path.exists():
        return 0, 0
    who = salt.user(user)
    conn = connect(path, busy_ms)
    try:
        conn.execute("PRAGMA secure_delete = ON")  # overwrite the deleted rows, not just unlink them
        with transaction(conn):
            questions = conn.execute("DELETE FROM questions WHERE user_hash = ?", (who,)).rowcount
            ratings = conn.execute("DELETE FROM ratings WHERE user_hash = ?", (who,)).rowcount
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the deleted rows leave the WAL file too
    finally:
        conn.close()
    return questions, ratings
