"""The handlers: pick the question out of a message, call ``engine.answer`` in a worker
thread, send ``render.telegram_html`` back with the 👍 / 👎 buttons, record a press.
No answering or logging logic lives here (see retrieval.feedback)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import threading
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from html import escape
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram import buttons
from bot.telegram.more import PREFIX as MORE, Shelf
from bot.telegram.render import more_html, sources_html, telegram_html
from retrieval.errors import IndexProblem
from retrieval.feedback.log import Asker, QuestionLog
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.engine import Engine

log = logging.getLogger(__name__)
from bot.telegram.guard import ADDRESSED, AllowList, QuestionLimit, addressed_to_bot

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
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
MORE_GONE = "That answer is too old for more passages. Please ask again."
THANKS = "Thanks"


def answer_keyboard(more: str = "", answer_id: str = "") -> InlineKeyboardMarkup | None:
    """The buttons under an answer (one row): "More" when further passages are kept under key ``more``,
    then 👍 / 👎 when the answer was logged under ``answer_id``. Other buttons for an answer belong here too."""
    row = [InlineKeyboardButton("More", callback_data=MORE + more)] if more else []
    row += buttons.feedback_row(answer_id) if answer_id else []
    return InlineKeyboardMarkup([row]) if row else None


async def reply(message: Message, text: str, html: bool = False, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply to ``message`` quoting it, so every reply is tied to what it answers (also in private chats)."""
    send = message.reply_html if html else message.reply_text
    await send(text, do_quote=True, allow_sending_without_reply=True, reply_markup=markup)


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

    def __init__(self, settings: Settings, engine: "Engine", workers: int | None = None,
                 questions: QuestionLog | None = None):
        self.engine = engine
        self.questions = questions or QuestionLog.open(settings)
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
        self.shelf: Shelf[tuple] = Shelf()  # passages behind the "More" buttons

    def register(self, app: Application) -> None:
        talk = filters.UpdateType.MESSAGES & (filters.ChatType.PRIVATE | ADDRESSED)
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler("start", self.start))
        app.add_handler(CommandHandler("help", self.help))
        app.add_handler(CommandHandler("sources", self.sources))
        app.add_handler(CommandHandler("ask", self.ask))
        app.add_handler(CallbackQueryHandler(self.more, pattern=f"^{MORE}"))
        app.add_handler(MessageHandler(talk & filters.TEXT & ~filters.COMMAND, self.question))
        app.add_handler(MessageHandler(talk & filters.COMMAND & filters.ChatType.PRIVATE, self.unknown))
        app.add_handler(MessageHandler(talk & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.not_text))
        app.add_handler(CallbackQueryHandler(self.rated, pattern=buttons.PATTERN))
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
        user = message.from_user.id if message.from_user else message.chat_id
        verdict = self.limit.take(user)
        if verdict != QuestionLimit.ALLOW:
            if verdict == QuestionLimit.WARN:
                await reply(message, SLOW_DOWN)
            return
        asker = Asker("telegram", str(user), message.chat.type)
        async with typing(message.get_bot(), message.chat_id):
            logged = await asyncio.get_running_loop().run_in_executor(
                self.pool, self.questions.answer, self.engine.answer, question, asker)
        answer = logged.answer
        parts = telegram_html(answer)
        markup = answer_keyboard(self.shelf.keep(answer.more) if answer.more else "", buttons.rateable(logged))
        for i, part in enumerate(parts, 1):
            await reply(message, part, html=True, markup=markup if i == len(parts) else None)

    async def rated(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A 👍 / 👎 press: record this user's rating of that answer (a later press replaces it), thank, mark it."""
        query = update.callback_query
        answer_id, up = buttons.parse(query.data)
        self.questions.rate(answer_id, query.from_user.id, up)
        await query.answer(THANKS)
        with contextlib.suppress(BadRequest):  # "message is not modified": the same button pressed again
            await query.edit_message_reply_markup(
                buttons.feedback_keyboard(getattr(query.message, "reply_markup", None), answer_id, up))

    async def more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "More" button: the passages ranked after those shown, under the answer; the button goes."""
        query = update.callback_query
        await query.answer()
        hits = self.shelf.get(query.data.removeprefix(MORE))
        if query.message is None:
            return  # too old for Telegram to say which message it was under
        await reply(query.message, MORE_GONE if hits is None else more_html(hits), html=hits is not None)
        with contextlib.suppress(TelegramError):  # the More button goes; the others (👍 / 👎) stay
            await query.edit_message_reply_markup(buttons.without(getattr(query.message, "reply_markup", None), MORE))

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
        if not await asyncio.to_thread(self.questions.close):
            log.warning("Some logged questions could not be written before stopping (see above)")

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


