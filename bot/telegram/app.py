"""Wiring of the Telegram door: the ``Application`` (ordered per chat, rate-limited, retried),
long polling or a webhook, and reloading a rebuilt index on SIGHUP. The handlers live in
``handlers``; this module only puts them together.

Usage::

    settings = Settings.from_env()
    engine = Engine(settings)
    engine.load()
    run_telegram(settings, engine, webhook_url=None, listen="127.0.0.1", port=8080, secret_token=None)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import secrets
from collections import defaultdict
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import (
    BadRequest,
    InvalidToken,
    NetworkError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
)

from retrieval.settings import Settings
from bot.telegram.guard import (
    SECRET_PATTERN,
    SECRETS,
    TelegramSetupError,
    api_urls,
    check_telegram_settings,
    hide_in_logs,
)
from bot.telegram.handlers import ALLOWED_UPDATES, POLLING, NewsBot

if TYPE_CHECKING:
    from retrieval.engine import Engine

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- transport wiring


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Processes updates of different chats concurrently and those of one chat in arrival order."""

    def __init__(self, max_concurrent_updates: int = 256):
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._waiting: dict[object, int] = defaultdict(int)

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat else id(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:  # the chat's turn first, then a concurrency slot
                await super().process_update(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


class PatientRateLimiter(AIORateLimiter):
    """AIORateLimiter (waits out 429 ``retry_after``) that also retries after a 5xx or a dropped connection.

    A timed-out request is not retried: Telegram may already have delivered it.
    Chat actions skip the limits; they are best-effort and must not use up the message budget.
    """

    def __init__(self, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any):
        super().__init__(**{"max_retries": 3, **kwargs})
        self.network_retries = network_retries
        self.backoff = backoff

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # noqa: ANN001
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        for attempt in itertools.count():
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as exc:
                if isinstance(exc, (TimedOut, BadRequest)) or attempt >= self.network_retries:
                    raise
                delay = self.backoff * 2**attempt
                log.warning("%s failed (%s); retry %d in %.1f s", endpoint, exc, attempt + 1, delay)
                await asyncio.sleep(delay)

# --------------------------------------------------------------------------- application


def build_application(settings: Settings, engine: "Engine", rate_limiter: AIORateLimiter | None = None,
                      workers: int | None = None) -> Application:
    """The configured Application (not started); call :func:`check_telegram_settings` first."""
    hide_in_logs(settings.telegram_token)
    news = NewsBot(settings, engine, workers)
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .rate_limiter(rate_limiter or PatientRateLimiter())
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(news.post_init)
        .post_shutdown(news.post_shutdown)
    )
    urls = api_urls(settings.telegram_api_base_url)
    if urls:
        builder = builder.base_url(urls[0]).base_file_url(urls[1])
    app = builder.build()
    news.register(app)
    return app


def add_telegram_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``telegram`` subcommand."""
    parser.add_argument(
        "--webhook-url", default=os.environ.get("TELEGRAM_WEBHOOK_URL") or None,
        help="public HTTPS URL Telegram should POST updates to; without it the bot uses long polling "
             "(env TELEGRAM_WEBHOOK_URL)")
    parser.add_argument(
        "--listen", default=os.environ.get("TELEGRAM_WEBHOOK_LISTEN") or "127.0.0.1",
        help="address the webhook server binds to, e.g. behind a reverse proxy (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("TELEGRAM_WEBHOOK_PORT") or 8080),
        help="port the webhook server listens on (default: %(default)s)")
    parser.add_argument(
        "--secret-token", default=os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None,
        help="secret Telegram sends with every webhook call, 1-256 of A-Z a-z 0-9 _ - "
             "(env TELEGRAM_WEBHOOK_SECRET; a random one is generated when unset)")


def run_from_args(settings: Settings, args: argparse.Namespace) -> int:
    """``newsbot telegram``: check the Telegram settings before the engine loads (building the index if
    there is none), then run until stopped."""
    _stop_unless_usable(settings, args.webhook_url, args.port, args.secret_token)
    from retrieval.engine import Engine

    engine = Engine(settings)
    engine.ensure_index(progress=False, notify=log.info)  # why a rebuild delays the start, in the log
    run_telegram(settings, engine, args.webhook_url, args.listen, args.port, args.secret_token)
    return 0


def run_telegram(settings: Settings, engine: "Engine", webhook_url: str | None, listen: str, port: int,
                 secret_token: str | None) -> None:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook server when ``webhook_url`` is set.

    A setting that cannot work stops start-up with SystemExit and one line naming it.
    """
    _stop_unless_usable(settings, webhook_url, port, secret_token)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(settings.log_level)  # BOT_LOG_LEVEL, also when the CLI configured logging
    app = build_application(settings, engine)
    asyncio.set_event_loop(asyncio.new_event_loop())  # run_* close their loop; start each run on a fresh one
    try:
        if webhook_url:
            secret = secret_token or secrets.token_urlsafe(32)
            hide_in_logs(secret)
            app.run_webhook(**webhook_options(webhook_url, listen, port, secret), bootstrap_retries=3)
        else:
            app.run_polling(**POLLING, bootstrap_retries=3)
    except InvalidToken:
        raise SystemExit("Telegram rejected TELEGRAM_BOT_TOKEN: check the token with @BotFather "
                         "(it may have been revoked or mistyped).") from None
    except NetworkError as exc:
        where = urlsplit(settings.telegram_api_base_url).netloc or "api.telegram.org"
        raise SystemExit(f"Could not reach the Telegram Bot API at {where}: {SECRETS.mask(str(exc))}") from None
    finally:
        asyncio.set_event_loop(None)


def webhook_options(webhook_url: str, listen: str, port: int, secret_token: str) -> dict[str, Any]:
    """Arguments for ``Application.run_webhook`` / ``Updater.start_webhook``: serve the URL's path on listen:port."""
    return {"listen": listen, "port": port, "url_path": urlsplit(webhook_url).path.lstrip("/"),
            "webhook_url": webhook_url, "secret_token": secret_token, "allowed_updates": ALLOWED_UPDATES}


def _stop_unless_usable(settings: Settings, webhook_url: str | None, port: int, secret_token: str | None) -> None:
    """SystemExit with one line naming the setting when the token, API URL or webhook options cannot work."""
    try:
        check_telegram_settings(settings)
        if webhook_url:
            _check_webhook(webhook_url, port, secret_token)
    except TelegramSetupError as exc:
        raise SystemExit(str(exc)) from None


def _check_webhook(webhook_url: str, port: int, secret_token: str | None) -> None:
    if urlsplit(webhook_url).scheme not in ("http", "https") or not urlsplit(webhook_url).netloc:
        raise TelegramSetupError(f"--webhook-url must be a full URL such as https://bot.example.com/telegram, "
                                 f"got {webhook_url!r}.")
    if not 1 <= port <= 65535:
        raise TelegramSetupError(f"--port must be between 1 and 65535, got {port}.")
    if secret_token is not None and not SECRET_PATTERN.fullmatch(secret_token):
        raise TelegramSetupError("--secret-token (TELEGRAM_WEBHOOK_SECRET) may only hold 1-256 of "
                                 "A-Z, a-z, 0-9, '_' and '-'.")
