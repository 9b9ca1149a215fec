"""Helpers for the question-log tests: reading the file as an operator would, and making it unwritable."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest


def rows(db: Path, table: str = "questions") -> list[dict]:
    """Every row of ``table``, as dicts, read with a connection of its own."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY at")]
    finally:
        conn.close()


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` (a file or a folder) cannot be written, even by root (``chattr +i``), until the block ends."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if not shutil.which("chattr"):
        pytest.skip("running as root, and chattr (e2fsprogs) is needed to make a file read-only for root")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"this file system cannot make {path} immutable: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def write_locked(db: Path):
    """Another connection holds the database's write lock (``BEGIN EXCLUSIVE``) until the block ends."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()
