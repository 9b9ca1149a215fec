"""The Telegram door: handlers that translate between Telegram and the engine, and their wiring.

Handlers hold no answering logic: they pick the question out of a message, call
``engine.answer`` in a worker thread and send ``render.telegram_html`` back.

Usage::

    settings = Settings.from_env()
    engine = Engine(settings)
    engine.load()
    run_telegram(settings, engine, webhook_url=None, listen="127.0.0.1", port=8080, secret_token=None)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import re
import secrets
import signal
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import BotCommand, Message, MessageEntity, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter, Application, ApplicationHandlerStop, BaseUpdateProcessor, CommandHandler,
    ContextTypes, MessageHandler, TypeHandler, filters,
)

from bot.render import sources_html, telegram_html
from retrieval.errors import IndexProblem
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.engine import Engine

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE]
POLLING = {"allowed_updates": ALLOWED_UPDATES}  # for Application.run_polling / Updater.start_polling
COMMANDS = [
    BotCommand("ask", "Ask a question about the articles"),
    BotCommand("sources", "List the articles I know"),
    BotCommand("help", "How to ask me things"),
    BotCommand("start", "What this bot does"),
]
START_TEXT = (
    "I answer questions about {count} news articles and quote the passage each answer comes from.\n"
    "Try: <i>{example}</i> — or send /sources to see the articles, /help for more."
)
HELP_TEXT = (
    "Send me a question in plain words; I answer from the indexed news articles and cite "
    "title, outlet and date.\n"
    "/ask QUESTION — ask (in groups, or mention me, or reply to one of my messages)\n"
    "/sources — the articles I know\n"
    "/help — this message"
)
ASK_USAGE = "Put your question after the command, e.g. /ask {example}"
NOT_TEXT = "I only understand text questions. Please type your question."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."
REFUSAL = "Sorry, this bot is private and only answers its allowed users and chats."
SLOW_DOWN = "You're asking faster than I can answer. Please wait a minute and try again."
SOMETHING_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."


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


async def reply(message: Message, text: str, html: bool = False) -> None:
    """Reply to ``message`` quoting it, so every reply is tied to what it answers (also in private chats)."""
    send = message.reply_html if html else message.reply_text
    await send(text, do_quote=True, allow_sending_without_reply=True)


@contextlib.asynccontextmanager
async def typing(bot: Any, chat_id: int):
    """Show "typing…" in ``chat_id`` while the block runs (Telegram clears it after 5 s, so renew it).

    The first action is let through even when the answer is quicker than its request, so the
    user always sees it before the reply (cancelling it mid-request would drop it).
    """
    sent = asyncio.Event()

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            sent.set()
            await asyncio.sleep(4.5)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(sent.wait(), 2)
        task.cancel()


# --------------------------------------------------------------------------- handlers


class NewsBot:
    """The handlers, sharing one engine, one allow-list and one per-user question limit."""

    def __init__(self, settings: Settings, engine: "Engine", workers: int | None = None):
        self.engine = engine
        self.example = settings.example_question
        self.allowed = AllowList(settings.telegram_allowed_users, settings.telegram_allowed_chats)
        self.limit = QuestionLimit(settings.questions_per_minute)
        workers = workers or max(2, min(4, os.cpu_count() or 1))  # two at least: one slow answer must not block all
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="answer")
        self._refused: set[int] = set()
        self.index_check = settings.index_check_seconds
        self._background: set[asyncio.Task] = set()
        self._index_problem = ""
        self._stopping = False

    def register(self, app: Application) -> None:
        talk = filters.UpdateType.MESSAGES & (filters.ChatType.PRIVATE | ADDRESSED)
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler("start", self.start))
        app.add_handler(CommandHandler("help", self.help))
        app.add_handler(CommandHandler("sources", self.sources))
        app.add_handler(CommandHandler("ask", self.ask))
        app.add_handler(MessageHandler(talk & filters.TEXT & ~filters.COMMAND, self.question))
        app.add_handler(MessageHandler(talk & filters.COMMAND & filters.ChatType.PRIVATE, self.unknown))
        app.add_handler(MessageHandler(talk & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.not_text))
        app.add_error_handler(self.on_error)

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Let allowed people through; refuse each stranger who talks to the bot once, then ignore them."""
        user, chat, message = update.effective_user, update.effective_chat, update.effective_message
        if self.allowed.allows(user and user.id, chat and chat.id):
            return
        who = user.id if user else chat.id if chat else 0
        talking = message and (chat.type == chat.PRIVATE or addressed_to_bot(message))
        if talking and who not in self._refused:
            self._refused.add(who)
            await reply(message, REFUSAL)
        raise ApplicationHandlerStop

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: what the bot knows, in two lines, with an example question."""
        text = START_TEXT.format(count=len(self.engine.sources()), example=escape(self.example))
        await reply(update.effective_message, text, html=True)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: how to ask, in private chats and in groups."""
        await reply(update.effective_message, HELP_TEXT)

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/sources: the indexed articles with title, outlet and date."""
        await reply(update.effective_message, sources_html(self.engine.sources()), html=True)

    async def ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/ask QUESTION: answer QUESTION (the way to ask in groups)."""
        message = update.effective_message
        parts = (message.text or "").split(maxsplit=1)
        if len(parts) < 2:
            await reply(message, ASK_USAGE.format(example=self.example))
            return
        await self.answer(message, parts[1])

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A text message in a private chat, or one addressed to the bot in a group, is a question."""
        handle = re.compile(rf"@{re.escape(context.bot.username)}\b", re.IGNORECASE)
        await self.answer(update.effective_message, handle.sub(" ", update.effective_message.text).strip())

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An unknown /command in a private chat points to /help."""
        await reply(update.effective_message, UNKNOWN_COMMAND)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice and other media get a polite text-only reply."""
        await reply(update.effective_message, NOT_TEXT)

    async def answer(self, message: Message, question: str) -> None:
        """Answer ``question`` in a worker thread under the user's question limit, replying to ``message``."""
        verdict = self.limit.take(message.from_user.id if message.from_user else message.chat_id)
        if verdict != QuestionLimit.ALLOW:
            if verdict == QuestionLimit.WARN:
                await reply(message, SLOW_DOWN)
            return
        async with typing(message.get_bot(), message.chat_id):
            answer = await asyncio.get_running_loop().run_in_executor(self.pool, self.engine.answer, question)
        for part in telegram_html(answer):
            await reply(message, part, html=True)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure with its traceback and tell the user, without details, that something went wrong."""
        log.error("Handling update %s failed", getattr(update, "update_id", "-"), exc_info=context.error)
        if isinstance(update, Update) and update.effective_message:
            with contextlib.suppress(TelegramError):
                await reply(update.effective_message, SOMETHING_WRONG)

    async def post_init(self, app: Application) -> None:
        """Publish the command menu; a failure here is logged, not fatal."""
        try:
            await app.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:
            log.warning("Could not set the command menu: %s", exc)
        self._install_signal_handlers(app)
        if self.index_check and hasattr(self.engine, "reload_if_changed"):
            self._spawn(self.watch_index())
        log.info("Telegram bot @%s is ready", app.bot.username)

    async def post_shutdown(self, app: Application) -> None:
        """Let running answers finish in the background; take no new ones."""
        for task in list(self._background):
            task.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ----------------------------------------------------------------- index reload and signals

    async def reload_index(self) -> bool:
        """Load an index published since the last check, off the event loop; the loaded one answers until then."""
        reload = getattr(self.engine, "reload_if_changed", None)
        if reload is None:
            return False
        try:
            changed = await asyncio.to_thread(reload)
        except IndexProblem as exc:
            if str(exc) != self._index_problem:  # say it once per broken build, not at every check
                log.error("Keeping the loaded index; the newly published one cannot be used: %s", exc)
                self._index_problem = str(exc)
            return False
        self._index_problem = ""
        if changed:
            log.info("Now answering from the rebuilt index (%d articles)", len(self.engine.sources()))
        return changed

    async def watch_index(self) -> None:
        """Every ``index_check`` seconds, pick up an index that `newsbot index` has published."""
        while True:
            await asyncio.sleep(self.index_check)
            try:
                await self.reload_index()
            except Exception:  # noqa: BLE001 - one failed check must not end the watching
                log.exception("Checking for a rebuilt index failed")

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _install_signal_handlers(self, app: Application) -> None:
        """SIGHUP reloads the index; SIGTERM/SIGINT stop gracefully, and a repeat cannot cut that short."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread receives signals (tests run the Application in a thread)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            if hasattr(signal, "SIGHUP"):
                loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload_index()))
            for sig in (signal.SIGINT, signal.SIGTERM):  # replaces PTB's handlers, which raise SystemExit each time
                loop.add_signal_handler(sig, self._stop_signal, app)

    def _stop_signal(self, app: Application) -> None:
        """Stop fetching updates, answer those already fetched (PTB's stop), then exit; repeats are ignored."""
        if self._stopping:
            log.warning("Already stopping: answering the questions already received first (SIGKILL forces it)")
            return
        self._stopping = True
        log.info("Stopping: answering the questions already received, then exiting")
        if not app.running:
            raise SystemExit  # still starting: nothing fetched is in hand yet; stop the way PTB does
        app.stop_running()


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
    engine.ensure_index(progress=False)
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
