"""What keeps the Telegram door safe: the token out of logs, settings checked before start,
the allow-list and the per-user question limit."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Message, MessageEntity
from telegram.ext import (
    filters,
)

from retrieval.settings import Settings

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")




# --------------------------------------------------------------------------- secrets out of logs


class SecretMask(logging.Filter):
    """Masks registered secrets (the bot token, the webhook secret) in a record's message and traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []

    def add(self, secret: str) -> None:
        """Hide ``secret``; for a bot token also its part after the colon (the secret half)."""
        parts = {secret, secret.split(":", 1)[-1]}
        self._secrets = sorted(set(self._secrets) | {p for p in parts if len(p) >= 8}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        with contextlib.suppress(Exception):  # a malformed record must still be logged
            message = record.getMessage()
            if self.mask(message) != message:
                record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


SECRETS = SecretMask()


def hide_in_logs(*secrets_: str) -> None:
    """Mask ``secrets_`` in every log record from now on, whichever logger or handler sees it."""
    for secret in secrets_:
        if secret:
            SECRETS.add(secret)
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_secrets", False):
        return

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        SECRETS.filter(record)
        return record

    masking_factory.masks_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
    for noisy in ("httpx", "httpcore"):  # they log request URLs, which contain the token
        logging.getLogger(noisy).setLevel(logging.WARNING)


# --------------------------------------------------------------------------- settings checks


class TelegramSetupError(ValueError):
    """A Telegram setting cannot work; the message names the variable or option to fix."""


def check_telegram_settings(settings: Settings) -> None:
    """Raise TelegramSetupError naming the variable when the token or API URL cannot work."""
    token = settings.telegram_token
    if not token:
        raise TelegramSetupError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put "
            "TELEGRAM_BOT_TOKEN=<token> in .env or the environment.")
    if not TOKEN_PATTERN.fullmatch(token):
        raise TelegramSetupError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then about 35 "
            "letters, digits, '_' or '-'); copy it again from @BotFather.")
    if not isinstance(logging.getLevelName(settings.log_level), int):
        raise TelegramSetupError(f"BOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {settings.log_level!r}.")
    base = settings.telegram_api_base_url
    if base and urlsplit(base).scheme not in ("http", "https"):
        raise TelegramSetupError(f"TELEGRAM_API_BASE_URL must start with http:// or https://, got {base!r}.")


def api_urls(base: str) -> tuple[str, str] | None:
    """PTB's (base_url, base_file_url) for a Bot API server root such as ``http://127.0.0.1:8081``."""
    if not base:
        return None
    root = base.rstrip("/").removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


# --------------------------------------------------------------------------- policies the handlers apply


@dataclass(frozen=True)
class AllowList:
    """Who may use the bot: everyone when both sets are empty, else listed users or listed chats."""

    users: frozenset[int] = frozenset()
    chats: frozenset[int] = frozenset()

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        if not (self.users or self.chats):
            return True
        return user_id in self.users or chat_id in self.chats


class QuestionLimit:
    """At most ``per_minute`` questions per user in any 60 s (0 disables); the first refusal warns.

    >>> limit = QuestionLimit(1, clock=lambda: 0.0)
    >>> limit.take(7), limit.take(7), limit.take(7)
    ('allow', 'warn', 'quiet')
    """

    ALLOW, WARN, QUIET = "allow", "warn", "quiet"

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        if per_minute < 0:
            raise ValueError(f"per_minute must be 0 (off) or more, got {per_minute}")
        self.per_minute = per_minute
        self._clock = clock
        self._times: dict[int, deque[float]] = defaultdict(deque)
        self._warned: set[int] = set()

    def take(self, key: int) -> str:
        if not self.per_minute:
            return self.ALLOW
        now, times = self._clock(), self._times[key]
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) < self.per_minute:
            times.append(now)
            self._warned.discard(key)
            return self.ALLOW
        if key in self._warned:
            return self.QUIET
        self._warned.add(key)
        return self.WARN


def addressed_to_bot(message: Message) -> bool:
    """True when ``message`` mentions this bot, replies to one of its messages, or is a command for it."""
    bot = message.get_bot()
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot.id:
        return True
    handle = f"@{bot.username}".lower()
    kinds = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION, MessageEntity.BOT_COMMAND]
    found = {**message.parse_entities(kinds), **message.parse_caption_entities(kinds)}
    for entity, text in found.items():
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
        if entity.type == MessageEntity.MENTION and text.lower() == handle:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return "@" not in text or text.lower().endswith(handle)
    return False


class _Addressed(filters.MessageFilter):
    """Filter form of :func:`addressed_to_bot`."""

    def filter(self, message: Message) -> bool:
        return addressed_to_bot(message)


ADDRESSED = _Addressed(name="addressed_to_bot")


