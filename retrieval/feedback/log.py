"""The question log: every question through every door, and the ratings of the answers, in one SQLite file.

Answering never waits on the database. ``asked`` and ``rate`` only put a row on a
queue; one writer thread per process takes everything queued, writes it in a
single transaction, and goes back to waiting. A database that is locked, full or
read-only costs one warning: the writer keeps the rows (up to ``hold``) and tries
again every ``retry_seconds``, or as soon as more rows arrive, and says so when it
is writing again. ``close`` (on SIGTERM, at the end of a chat) writes what is still
pending before the process exits.

WAL mode lets the bot and a console chat (two processes) write the same file: a
writer waits up to ``busy_ms`` for the other's short transaction.

    log = QuestionLog.open(settings)
    logged = log.answer(engine.answer, "who won?", Asker("console", "alice"))
    log.rate(logged.answer_id, "alice", up=True)
    log.close()
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrieval.feedback.db import connect, transaction
from retrieval.feedback.privacy import Salt
from retrieval.settings import Settings
from retrieval.types import Answer

log = logging.getLogger(__name__)

QUESTION_CHARS = 500  # longer questions are stored cut: enough to see what was asked, not a dump of pasted text
DOORS = ("telegram", "console", "ask")
PRUNE_EVERY = 3600.0  # seconds between retention sweeps of a long-running writer
# named in the INSERT rather than by position, so the order of a file's columns (an upgraded one adds them last)
# never matters
QUESTION_COLUMNS = ("answer_id", "at", "door", "chat_type", "user_hash", "question", "declined", "reason", "sources",
                    "latency_ms", "hedged", "confidence")


@dataclass(frozen=True)
class Asker:
    """Who asked, through which door. ``user`` is the raw id: it is hashed before anything is queued."""

    door: str
    user: str
    chat_type: str = ""

    def __post_init__(self) -> None:
        if self.door not in DOORS:
            raise ValueError(f"door must be one of {', '.join(DOORS)}, got {self.door!r}")


@dataclass(frozen=True)
class QuestionRow:
    """One logged question, as stored."""

    answer_id: str
    at: float
    door: str
    chat_type: str
    user_hash: str
    question: str
    declined: bool
    reason: str
    sources: tuple[tuple[str, str], ...]
    latency_ms: float
    hedged: bool = False  # shown as unsure; False for rows logged before the log kept it
    confidence: float = 0.0


@dataclass(frozen=True)
class Rating:
    """One user's rating of one answer; a later one by the same user replaces it."""

    answer_id: str
    user_hash: str
    up: bool
    at: float


@dataclass(frozen=True)
class Logged:
    """An answer and the id its feedback refers to ("" when the log is off)."""

    answer: Answer
    answer_id: str


_STOP = object()
_SURROGATE = re.compile("[\ud800-\udfff]")


class QuestionLog:
    """The log one process writes to; thread-safe, never blocking its callers."""

    def __init__(self, path: Path, salt: Salt | None, retention_days: int = 90, *, busy_ms: int = 2000,
                 retry_seconds: float = 5.0, batch: int = 500, hold: int = 10_000, max_pages: int | None = None,
                 clock: Callable[[], float] = time.time):
        """``salt`` None means the log is off. ``max_pages`` caps the file's size (SQLite pages of 4 KiB)."""
        if retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, got {retention_days}")
        if retry_seconds <= 0 or batch < 1 or hold < 1:
            raise ValueError(f"retry_seconds, batch and hold must be positive, got {retry_seconds}, {batch}, {hold}")
        self.path = path
        self.retention_days = retention_days
        self.busy_ms, self.retry_seconds, self.batch, self.hold, self.max_pages = (
            busy_ms, retry_seconds, batch, hold, max_pages)
        self._salt = salt
        self._clock = clock
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._count_lock = threading.Lock()
        self.pending = 0  # rows queued or held, not yet written
        self.lost = 0  # rows given up on (held past ``hold``, or unwritten at close)

    @classmethod
    def open(cls, settings: Settings) -> "QuestionLog":
        """The log ``settings`` ask for: off when BOT_LOG_QUESTIONS=0, or (one warning) when no salt can be made."""
        if not settings.log_questions:
            return cls(settings.db_path, None, settings.log_retention_days)
        try:
            salt = Salt.beside(settings.db_path)
        except OSError as exc:
            log.warning("Not logging questions: cannot keep the salt beside %s (%s); the bot answers as usual",
                        settings.db_path, exc.strerror or exc)
            salt = None
        return cls(settings.db_path, salt, settings.log_retention_days)

    @property
    def enabled(self) -> bool:
        return self._salt is not None

    def user_hash(self, user: object) -> str:
        return self._salt.user(user) if self._salt is not None and str(user).strip() else ""

    # ----------------------------------------------------------------- what the doors call

    def answer(self, answer: Callable[[str], Answer], question: str, asker: Asker) -> Logged:
        """``answer(question)``, timed and logged."""
        started = time.perf_counter()
        result = answer(question)
        return Logged(result, self.asked(asker, question, result, (time.perf_counter() - started) * 1000))

    def asked(self, asker: Asker, question: str, answer: Answer, latency_ms: float) -> str:
        """Queue one question; its answer id for the feedback buttons ("" when the log is off)."""
        if not self.enabled:
            return ""
        sources = tuple(dict.fromkeys((_text(h.passage.file), _text(h.passage.title)) for h in answer.passages))
        row = QuestionRow(secrets.token_urlsafe(8), self._clock(), asker.door, _text(asker.chat_type),
                          self.user_hash(asker.user), _text(question[:QUESTION_CHARS]), answer.declined,
                          _text(answer.declined_reason), sources, round(latency_ms, 2), bool(answer.hedged),
                          round(float(answer.confidence), 4))
        self._put(row)
        return row.answer_id

    def rate(self, answer_id: str, user: object, up: bool) -> None:
        """Queue ``user``'s rating of an answer (replacing their earlier one)."""
        if self.enabled and answer_id:
            self._put(Rating(answer_id, self.user_hash(user), bool(up), self._clock()))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False if that did not happen within ``timeout``."""
        if not self.enabled or self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is pending (trying for up to ``timeout`` seconds) and stop the writer."""
        if self._closed:
            return True
        self._closed = True
        if self._thread is None:
            return True
        if self.pending:
            log.info("Writing %d pending questions and ratings to %s before stopping (waiting up to %g s)",
                     self.pending, self.path, timeout)
        self._queue.put((_STOP, time.monotonic() + timeout))
        self._thread.join(timeout + 1)
        return not self._thread.is_alive() and self.lost == 0

    def _put(self, item: QuestionRow | Rating) -> None:
        if self._closed:
            log.warning("The question log is closed; a %s was not kept", type(item).__name__)
            return
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="question-log", daemon=True)
                    self._thread.start()
        self._count(1)
        self._queue.put(item)

    def _count(self, change: int) -> None:
        with self._count_lock:
            self.pending += change

    # ----------------------------------------------------------------- the writer thread

    def _run(self) -> None:
        """The writer's loop; whatever goes wrong, it must not end (the log would go silent for good)."""
        while True:
            try:
                self._loop()
                return
            except Exception:  # noqa: BLE001 - a bug in one batch must not stop all logging
                log.exception("The question log's writer failed; its unwritten rows are lost, it goes on")

    def _loop(self) -> None:
        writer = _Writer(self)
        held: list[QuestionRow | Rating] = []
        flushes: list[threading.Event] = []
        deadline: float | None = None
        while True:
            wait = None if not held else self.retry_seconds
            if deadline is not None:
                wait = max(0.0, min(wait or 0.0, deadline - time.monotonic()))
            items = self._take(wait)
            for item in items:
                if isinstance(item, threading.Event):
                    flushes.append(item)
                elif isinstance(item, tuple):
                    deadline = item[1]
                else:
                    held.append(item)
            if len(held) > self.hold:
                self._drop(held, len(held) - self.hold)
            if held and writer.write(held):
                self._count(-len(held))
                held = []
            if not held:
                for event in flushes:
                    event.set()
                flushes = []
            if deadline is not None and (not held or time.monotonic() >= deadline):
                break
        while True:  # rows still queued when the close gave up count as lost too, not only those held
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, (threading.Event, tuple)):  # a flush waiting on unwritten rows stays unset
                held.append(item)
        if held:
            self._count(-len(held))
            self.lost += len(held)
            log.warning("%d logged questions or ratings could not be written to %s and are lost",
                        len(held), self.path)
        writer.close()

    def _take(self, wait: float | None) -> list:
        """The next items: block up to ``wait`` seconds (None = until one arrives), then all that are queued."""
        try:
            items = [self._queue.get(timeout=wait) if wait is None or wait > 0 else self._queue.get_nowait()]
        except queue.Empty:
            return []
        while len(items) < self.batch:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _drop(self, held: list, count: int) -> None:
        if not self.lost:
            log.warning("The question log cannot keep up: dropping the oldest rows it holds for %s", self.path)
        self.lost += count
        self._count(-count)
        del held[:count]


def _text(value: str) -> str:
    """``value`` storable as UTF-8: a lone surrogate (undecodable input) becomes U+FFFD, as the doors show it."""
    return _SURROGATE.sub("\ufffd", value)


class _Writer:
    """The writer thread's connection: opened on first use, re-opened after a failure."""

    def __init__(self, owner: QuestionLog):
        self.owner = owner
        self.conn: sqlite3.Connection | None = None
        self.failing = ""
        self.pruned_at = 0.0

    def write(self, items: list[QuestionRow | Rating]) -> bool:
        """Write ``items`` in one transaction; False (one warning per run of failures) when it cannot."""
        try:
            conn = self.conn or self._open()
            self._prune(conn)
            with transaction(conn):
                conn.executemany(
                    f"INSERT OR IGNORE INTO questions ({', '.join(QUESTION_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(QUESTION_COLUMNS))})",
                    [(r.answer_id, r.at, r.door, r.chat_type, r.user_hash, r.question, int(r.declined), r.reason,
                      json.dumps([list(s) for s in r.sources], ensure_ascii=False), r.latency_ms, int(r.hedged),
                      r.confidence)
                     for r in items if isinstance(r, QuestionRow)])
                conn.executemany(
                    "INSERT INTO ratings VALUES (?, ?, ?, ?) ON CONFLICT (answer_id, user_hash) "
                    "DO UPDATE SET up = excluded.up, at = excluded.at",
                    [(r.answer_id, r.user_hash, int(r.up), r.at) for r in items if isinstance(r, Rating)])
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc, len(items))
            return False
        if self.failing:
            log.warning("The question log %s is writable again; %d held rows written", self.owner.path, len(items))
            self.failing = ""
        return True

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.owner.path, self.owner.busy_ms)
        if self.owner.max_pages:
            conn.execute(f"PRAGMA max_page_count = {int(self.owner.max_pages)}")
        self.conn = conn
        return conn

    def _prune(self, conn: sqlite3.Connection) -> None:
        """Delete rows older than the retention period: at the first write, then hourly."""
        now = time.monotonic()
        if self.pruned_at and now - self.pruned_at < PRUNE_EVERY:
            return
        cutoff = self.owner._clock() - self.owner.retention_days * 86400
        with transaction(conn):
            conn.execute("DELETE FROM questions WHERE at < ?", (cutoff,))
            conn.execute("DELETE FROM ratings WHERE at < ?", (cutoff,))
        self.pruned_at = now

    def _failed(self, exc: Exception, count: int) -> None:
        if not self.failing:
            log.warning("Cannot write the question log %s (%s); holding %d rows and retrying every %g s; "
                        "answering goes on", self.owner.path, exc, count, self.owner.retry_seconds)
        self.failing = str(exc)
        if "locked" not in str(exc) and "busy" not in str(exc):
            self.close()  # read-only or full: open afresh next time, in case the file was fixed or replaced

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
            self.conn = None
