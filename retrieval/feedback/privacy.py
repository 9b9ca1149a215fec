"""Who asked, without keeping who asked: user ids become salted hashes before anything is stored.

The salt is 32 random bytes generated once and kept in a file beside the database
(``newsbot.sqlite`` -> ``newsbot.sqlite.salt``, mode 0600). Without the salt a hash
cannot be turned back into an id by trying every Telegram id; with it, ``newsbot
forget --user ID`` finds one person's rows by hashing the id the same way.
Deleting the salt file unlinks every stored hash from everyone for good.

>>> salt = Salt.beside(Path("/tmp/x/newsbot.sqlite"))   # doctest: +SKIP
>>> salt.user("123456789")                              # doctest: +SKIP
'4f0c...'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

SALT_BYTES = 32
HASH_CHARS = 32  # 128 bits of HMAC-SHA256: no collisions among any realistic number of users


def salt_path(db_path: Path) -> Path:
    """Where the salt of the database at ``db_path`` lives."""
    return db_path.with_name(db_path.name + ".salt")


@dataclass(frozen=True)
class Salt:
    """The secret that makes user hashes unguessable; ``user(id)`` is the only thing stored about a person."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError(f"a salt needs at least 16 bytes, got {len(self.key)}")

    def user(self, user_id: object) -> str:
        """The stored stand-in for ``user_id`` (an int from Telegram or a login name): hex HMAC-SHA256."""
        raw = str(user_id).strip().encode("utf-8")
        return hmac.new(self.key, raw, hashlib.sha256).hexdigest()[:HASH_CHARS]

    @classmethod
    def beside(cls, db_path: Path, create: bool = True) -> "Salt | None":
        """The salt kept beside ``db_path``: read it, or (``create``) make it once.

        Two processes starting together agree on one salt: each writes its own temporary
        file and links it into place, which fails for the second, who then reads the first's.
        None when there is no salt and ``create`` is False. OSError when it cannot be read or made.
        """
        path = salt_path(db_path)
        if path.exists() or not create:
            return cls._read(path) if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(SALT_BYTES))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)  # atomic, and refuses to replace a salt another process made first
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
        return cls._read(path)

    @classmethod
    def _read(cls, path: Path) -> "Salt":
        key = path.read_bytes()
        if len(key) < 16:
            raise OSError(f"the salt file {path} is damaged ({len(key)} bytes); delete it to start afresh")
        return cls(key)
