"""A Telegram Bot API stand-in on 127.0.0.1 for end-to-end tests of the real bot.

It serves the methods python-telegram-bot calls (getMe, getUpdates with long
polling, sendMessage, sendChatAction, setMyCommands, webhooks, inline keyboards:
answerCallbackQuery and editMessageReplyMarkup, ...), queues updates from
simulated users (messages, and presses of the bot's inline buttons), records every call, checks replies the way
Telegram does (HTML entities, 4096 units) and injects faults per method.
Everything is thread-safe; waiting helpers block on a condition, never poll.

Usage (``pytest_plugins = ["tests.botapi_standin"]`` gives the ``botapi`` fixture)::

    def test_reply(botapi):
        alice = botapi.new_user("Alice")
        botapi.inject("sendMessage", Fault.retry_after(1))
        asked = botapi.send_text(alice, "when?")
        # ... run the bot with base URL botapi.base_url and token botapi.token ...
        [reply] = botapi.wait_for_replies(asked)
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
import json
import re
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

TOKEN = "123456789:AAHstandinTokenForTestsOnly0123456789"
MESSAGE_LIMIT = 4096
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}
# the attributes Telegram accepts on each tag (https://core.telegram.org/bots/api#html-style);
# a value of None means the attribute stands alone ("<blockquote expandable>", Bot API 7.4)
ALLOWED_ATTRS = {
    "a": {"href"}, "span": {"class"}, "code": {"class"}, "tg-emoji": {"emoji-id"}, "blockquote": {"expandable"},
}
COLLAPSED_LINES, PHONE_LINE = 3, 40  # a collapsed expandable quote shows about three phone lines of ~40 units
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}
JSON_FIELDS = {
    "reply_parameters", "reply_markup", "entities", "commands", "allowed_updates",
    "link_preview_options", "scope", "caption_entities",
}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


# --------------------------------------------------------------------------- HTML as Telegram reads it


def telegram_html_text(text: str) -> str:
    """The plain text Telegram shows for ``text`` in HTML parse mode; ValueError if Telegram would refuse it."""
    for i, ch in enumerate(text):
        if ch == "&" and not _ENTITY.match(text, i):
            raise ValueError(f"bare '&' at {i}: {text[i:i + 20]!r}")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise ValueError(f"unclosed tags {parser.stack}")
    return "".join(parser.out)


def telegram_visible_units(text: str) -> int:
    """Units a phone shows of ``text`` (HTML) before anything is expanded: everything outside
    expandable quotes, and the first ``COLLAPSED_LINES`` lines (of ``PHONE_LINE`` units) of each."""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    shown = 0
    for collapsed, part in parser.runs:
        if not collapsed:
            shown += telegram_units(part)
            continue
        lines = [telegram_units(line) for line in part.split("\n")]
        rows = [(n, max(1, -(-n // PHONE_LINE))) for n in lines]  # each line takes whole phone rows
        left = COLLAPSED_LINES
        for n, taken in rows:
            shown += min(n, left * PHONE_LINE)
            left -= taken
            if left <= 0:
                break
    return shown


def telegram_units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts message length."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.out: list[str] = []
        self.runs: list[tuple[bool, str]] = []  # (inside an expandable quote, text) in order
        self._collapsed = 0

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise ValueError(f"unsupported tag <{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRS.get(tag, ()):
                raise ValueError(f"unsupported attribute {name!r} on <{tag}>")
            if tag == "blockquote" and value is not None:
                raise ValueError("expandable takes no value")
        if tag == "blockquote" and "blockquote" in self.stack:
            raise ValueError("blockquotes cannot be nested")
        expandable = tag == "blockquote" and bool(attrs)
        self._collapsed += expandable
        self.stack.append(tag + ("+" if expandable else ""))

    def handle_startendtag(self, tag, attrs):
        raise ValueError(f"unsupported self-closing tag <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1].rstrip("+") != tag:
            raise ValueError(f"</{tag}> does not close {self.stack[-1:] or 'anything'}")
        self._collapsed -= self.stack.pop().endswith("+")

    def handle_data(self, data):
        if "<" in data or ">" in data:
            raise ValueError(f"unescaped angle bracket in {data[:40]!r}")
        self._text(data)

    def handle_entityref(self, name):
        self._text({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name):
        self._text(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def _text(self, text: str) -> None:
        self.out.append(text)
        collapsed = self._collapsed > 0
        if self.runs and self.runs[-1][0] == collapsed:
            self.runs[-1] = (collapsed, self.runs[-1][1] + text)
        else:
            self.runs.append((collapsed, text))

    def handle_comment(self, data):
        raise ValueError("HTML comments are not allowed")

    def handle_decl(self, decl):
        raise ValueError("declarations are not allowed")

    def handle_pi(self, data):
        raise ValueError("processing instructions are not allowed")

    def unknown_decl(self, data):
        raise ValueError("declarations are not allowed")


# --------------------------------------------------------------------------- records and faults


@dataclass(frozen=True)
class Fault:
    """What the stand-in does instead of (or before) answering one call.

    ``retry_after`` → HTTP 429 with ``parameters.retry_after``; ``status`` → that
    HTTP error; ``drop`` → close the connection without answering (the call has
    no effect); ``delay`` → answer normally after that many seconds.
    """

    kind: str
    seconds: float = 0.0
    status: int = 0
    description: str = ""

    @classmethod
    def retry_after(cls, seconds: int) -> "Fault":
        return cls("retry_after", seconds=seconds, status=429,
                   description=f"Too Many Requests: retry after {seconds}")

    @classmethod
    def error(cls, status: int = 500, description: str = "Internal Server Error") -> "Fault":
        return cls("status", status=status, description=description)

    @classmethod
    def drop(cls) -> "Fault":
        return cls("drop")

    @classmethod
    def delay(cls, seconds: float) -> "Fault":
        return cls("delay", seconds=seconds)


@dataclass(frozen=True)
class Call:
    """One request the bot made, with what the stand-in answered."""

    method: str
    params: dict
    status: int
    at: float
    fault: Fault | None = None


@dataclass(frozen=True)
class Sent:
    """A message the bot sent successfully."""

    message_id: int
    chat_id: int
    text: str
    parse_mode: str | None
    reply_to: int | None
    plain: str
    edited: bool = False
    params: dict = field(default_factory=dict, compare=False)


# --------------------------------------------------------------------------- the server


class BotApiStandIn:
    """Bot API stand-in on 127.0.0.1; start with :meth:`start` or use as a context manager."""

    def __init__(self, token: str = TOKEN, bot_username: str = "news_test_bot", bot_name: str = "News Bot"):
        if ":" not in token:
            raise ValueError(f"token must look like '123:abc', got {token!r}")
        self.token = token
        self.bot_user = {
            "id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": bot_name,
            "username": bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
        }
        self.bot_username = bot_username
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._users = itertools.count(1001)
        self._groups = itertools.count(1)
        self.chats: dict[int, dict] = {}
        self.pending: deque[dict] = deque()  # updates not yet confirmed by the bot
        self.fetched: set[int] = set()
        self.confirmed_up_to = 0
        self.calls: list[Call] = []  # answered calls, in the order they were answered
        self.started: dict[str, int] = defaultdict(int)  # calls received per method, answered or not
        self.sent: list[Sent] = []
        self._replies: dict[tuple[int, int], list[Sent]] = defaultdict(list)  # (chat, message) -> replies
        self.markups: dict[tuple[int, int], dict] = {}  # (chat, message) -> its inline keyboard now
        self.answered: list[dict] = []  # answerCallbackQuery calls' parameters
        self.callbacks: set[str] = set()  # ids of the callback queries made
        self.callback_answers: dict[str, dict] = {}  # callback query id -> answerCallbackQuery's params
        self.rejected: list[tuple[str, dict, str]] = []  # (method, params, description) of 400s
        self.commands: list[dict] = []
        self.webhook: dict = {}
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status or 0)
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.down = False
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------- life cycle

    def start(self) -> "BotApiStandIn":
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._spawn(lambda: self._server.serve_forever(poll_interval=0.05), "botapi-standin")
        return self

    def close(self) -> None:
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> "BotApiStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def root_url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:41234`` (what ``TELEGRAM_API_BASE_URL`` takes)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    base_url = root_url

    def _spawn(self, target: Callable, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    # ----------------------------------------------------------------- simulated people and chats

    def new_user(self, first_name: str = "User", username: str | None = None, language: str = "en") -> dict:
        """A Telegram user dict with a fresh id; its private chat has the same id."""
        uid = next(self._users)
        user = {"id": uid, "is_bot": False, "first_name": first_name, "language_code": language}
        if username:
            user["username"] = username
        with self._cond:
            self.chats[uid] = {"id": uid, "type": "private", "first_name": first_name}
        return user

    def new_group(self, title: str = "Group") -> dict:
        """A supergroup chat dict with a fresh negative id."""
        gid = -1001000000000 - next(self._groups)
        chat = {"id": gid, "type": "supergroup", "title": title}
        with self._cond:
            self.chats[gid] = chat
        return chat

    def _chat(self, user: dict, chat: dict | None) -> dict:
        return chat or self.chats[user["id"]]

    # ----------------------------------------------------------------- building updates (not queued)

    def make_message(self, user: dict, chat: dict | None = None, *, edited: bool = False, **fields: Any) -> dict:
        """An update carrying a message (or an edit when ``edited``) with extra ``fields``."""
        message = {"message_id": fields.pop("message_id", None) or next(self._ids), "date": int(time.time()),
                   "chat": self._chat(user, chat), "from": user, **fields}
        if edited:
            message["edit_date"] = int(time.time())
        return {"update_id": next(self._update_ids), "edited_message" if edited else "message": message}

    def make_text(self, user: dict, text: str, chat: dict | None = None, **fields: Any) -> dict:
        return self.make_message(user, chat, text=text, **fields)

    def make_command(self, user: dict, command: str, args: str = "", chat: dict | None = None,
                     addressed: bool = False) -> dict:
        """``/command[@bot] args``; ``addressed`` appends the bot's username as groups do."""
        head = f"/{command}" + (f"@{self.bot_username}" if addressed else "")
        text = f"{head} {args}".rstrip()
        entity = {"type": "bot_command", "offset": 0, "length": telegram_units(head)}
        return self.make_text(user, text, chat, entities=[entity])

    def make_mention(self, user: dict, text: str, chat: dict | None = None) -> dict:
        """``@bot text`` with a mention entity, as a group member addressing the bot."""
        handle = f"@{self.bot_username}"
        entity = {"type": "mention", "offset": 0, "length": telegram_units(handle)}
        return self.make_text(user, f"{handle} {text}", chat, entities=[entity])

    def make_reply(self, user: dict, text: str, to: Sent | dict, chat: dict | None = None) -> dict:
        """A text message replying to ``to`` (a bot message from :attr:`sent`, or a message dict)."""
        original = to if isinstance(to, dict) else self._as_message(to)
        return self.make_text(user, text, chat or original["chat"], reply_to_message=original)

    def make_sticker(self, user: dict, chat: dict | None = None) -> dict:
        sticker = {"file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADsticker", "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return self.make_message(user, chat, sticker=sticker)

    def make_photo(self, user: dict, chat: dict | None = None, caption: str | None = None) -> dict:
        photo = [{"file_id": "AgACAgIAAxkBAAE", "file_unique_id": "AQADphoto", "width": 90, "height": 90}]
        return self.make_message(user, chat, photo=photo, **({"caption": caption} if caption else {}))

    def make_voice(self, user: dict, chat: dict | None = None) -> dict:
        voice = {"file_id": "AwACAgIAAxkBAAE", "file_unique_id": "AgADvoice", "duration": 2}
        return self.make_message(user, chat, voice=voice)

    def make_edit(self, update: dict, text: str) -> dict:
        """An ``edited_message`` update changing the text of the message in ``update``."""
        original = update.get("message") or update["edited_message"]
        user, chat = original["from"], original["chat"]
        return self.make_message(user, chat, edited=True, message_id=original["message_id"], text=text,
                                 date=original["date"])

    def make_press(self, user: dict, sent: Sent, data: str) -> dict:
        """A ``callback_query`` update: ``user`` pressed the inline button with ``data`` under ``sent``
        (whether or not it is still there: an old client can press a button since removed)."""
        message = self._as_message(sent)
        query = {"id": str(next(self._ids)), "from": user, "message": message,
                 "chat_instance": str(sent.chat_id), "data": data}
        with self._cond:
            self.callbacks.add(query["id"])
        return {"update_id": next(self._update_ids), "callback_query": query}

    def _as_message(self, sent: Sent) -> dict:
        message = {"message_id": sent.message_id, "date": int(time.time()), "chat": self.chats[sent.chat_id],
                   "from": self.bot_user, "text": sent.plain}
        markup = self.markups.get((sent.chat_id, sent.message_id))
        return {**message, "reply_markup": markup} if markup else message

    # ----------------------------------------------------------------- queueing updates

    def queue(self, *updates: dict) -> list[dict]:
        """Make ``updates`` available to getUpdates (or the webhook), in order; returns them."""
        with self._cond:
            self.pending.extend(updates)
            self._cond.notify_all()
        return list(updates)

    def send_text(self, user: dict, text: str, chat: dict | None = None) -> dict:
        return self.queue(self.make_text(user, text, chat))[0]

    def send_command(self, user: dict, command: str, args: str = "", chat: dict | None = None,
                     addressed: bool = False) -> dict:
        return self.queue(self.make_command(user, command, args, chat, addressed))[0]

    def send_mention(self, user: dict, text: str, chat: dict | None = None) -> dict:
        return self.queue(self.make_mention(user, text, chat))[0]

    def send_reply(self, user: dict, text: str, to: Sent | dict, chat: dict | None = None) -> dict:
        return self.queue(self.make_reply(user, text, to, chat))[0]

    def send_sticker(self, user: dict, chat: dict | None = None) -> dict:
        return self.queue(self.make_sticker(user, chat))[0]

    def send_photo(self, user: dict, chat: dict | None = None, caption: str | None = None) -> dict:
        return self.queue(self.make_photo(user, chat, caption))[0]

    def send_voice(self, user: dict, chat: dict | None = None) -> dict:
        return self.queue(self.make_voice(user, chat))[0]

    def send_edit(self, update: dict, text: str) -> dict:
        return self.queue(self.make_edit(update, text))[0]

    def press(self, user: dict, sent: Sent, data: str) -> dict:
        return self.queue(self.make_press(user, sent, data))[0]

    def buttons(self, sent: Sent) -> list[dict]:
        """The inline buttons now under ``sent`` (after any edit of its keyboard), row by row flattened."""
        with self._cond:
            markup = self.markups.get((sent.chat_id, sent.message_id)) or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    # ----------------------------------------------------------------- faults

    def inject(self, method: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next calls of ``method`` (one fault per call, in order)."""
        with self._cond:
            self.faults[method].extend(faults)

    def set_down(self, down: bool = True) -> None:
        """While down, every call has its connection closed unanswered (a network outage), long polls too."""
        with self._cond:
            self.down = down
            self._cond.notify_all()

    # ----------------------------------------------------------------- observing

    def replies_to(self, update: dict) -> list[Sent]:
        """Messages the bot sent in reply to the message in ``update``."""
        message = update.get("message") or update.get("edited_message") or update["callback_query"]["message"]
        with self._cond:
            return list(self._replies.get((message["chat"]["id"], message["message_id"]), ()))

    def messages_in(self, chat: dict | int) -> list[Sent]:
        chat_id = chat if isinstance(chat, int) else chat["id"]
        with self._cond:
            return [s for s in self.sent if s.chat_id == chat_id]

    def wait_for_callback_answer(self, update: dict, timeout: float = 15.0) -> dict:
        """Wait until the bot has answered the callback query in ``update``; answerCallbackQuery's params."""
        query_id = update["callback_query"]["id"]
        return self.wait_for(lambda s: s.callback_answers.get(query_id), timeout,
                             f"an answer to callback query {query_id}")

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[["BotApiStandIn"], Any], timeout: float = 15.0,
                 what: str = "condition") -> Any:
        """Block until ``predicate(self)`` is truthy (re-checked on every recorded change); return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing.is_set():
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}; {self.summary()}")
                self._cond.wait(remaining)

    async def await_for(self, predicate: Callable[["BotApiStandIn"], Any], timeout: float = 15.0,
                        what: str = "condition") -> Any:
        """:meth:`wait_for` for code running on an event loop (waits in a worker thread)."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, what)

    def wait_for_replies(self, update: dict, count: int = 1, timeout: float = 15.0) -> list[Sent]:
        """Wait until the bot has sent ``count`` replies to the message in ``update``; return them."""
        found = self.wait_for(lambda s: (r := s.replies_to(update)) and len(r) >= count and r,
                              timeout, f"{count} replies to update {update['update_id']}")
        return found

    def wait_for_messages(self, count: int, chat: dict | int | None = None, timeout: float = 15.0) -> list[Sent]:
        """Wait until the bot has sent ``count`` messages (to ``chat``, or anywhere); return them all."""
        def enough(s: BotApiStandIn):
            got = s.messages_in(chat) if chat is not None else list(s.sent)
            return got if len(got) >= count else None
        return self.wait_for(enough, timeout, f"{count} messages" + (f" in {chat}" if chat else ""))

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 15.0) -> list[Call]:
        return self.wait_for(lambda s: (c := s.calls_to(method)) and len(c) >= count and c,
                             timeout, f"{count} {method} calls")

    def wait_until_polling(self, timeout: float = 30.0) -> None:
        """Wait until the bot has started its first getUpdates call (it is up and listening)."""
        self.wait_for(lambda s: s.started["getUpdates"], timeout, "the bot to start polling")

    def wait_until_fetched(self, timeout: float = 15.0) -> None:
        """Wait until the bot has fetched every queued update (not necessarily handled it)."""
        self.wait_for(lambda s: all(u["update_id"] in s.fetched for u in s.pending),
                      timeout, "all updates fetched")

    def summary(self) -> str:
        with self._cond:
            methods = defaultdict(int)
            for c in self.calls:
                methods[f"{c.method}:{c.status}"] += 1
            return (f"pending={len(self.pending)} sent={len(self.sent)} rejected={len(self.rejected)} "
                    f"calls={dict(methods)}")

    # ----------------------------------------------------------------- request handling

    def _handle(self, req: "_Handler") -> None:
        path = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        if len(body) < length:  # the client gave up mid-request (e.g. a cancelled "typing…"): nothing arrived
            return req.drop()
        params = _parse_params(req.headers.get("Content-Type", ""), body, path.query)
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", path.path)
        if not match:
            return req.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = match.groups()
        with self._cond:
            self.started[method] += 1
            self._cond.notify_all()
            down = self.down
            fault = self.faults[method].popleft() if self.faults.get(method) else None
        if down or (fault and fault.kind == "drop"):
            self._record(method, params, 0, fault)
            return req.drop()
        if fault and fault.kind == "delay":
            self._closing.wait(fault.seconds)
        elif fault:
            self._record(method, params, fault.status, fault)
            payload = {"ok": False, "error_code": fault.status, "description": fault.description}
            if fault.kind == "retry_after":
                payload["parameters"] = {"retry_after": int(fault.seconds)}
            return req.reply(fault.status, payload)
        if token != self.token:
            self._record(method, params, 401, None)
            return req.reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._record(method, params, 404, None)
            return req.reply(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
        try:
            result = handler(params)
        except _Dropped:
            self._record(method, params, 0, None)
            return req.drop()
        except _ApiError as exc:
            with self._cond:
                self.rejected.append((method, params, exc.description))
            self._record(method, params, exc.status, fault)
            return req.reply(exc.status, {"ok": False, "error_code": exc.status, "description": exc.description})
        self._record(method, params, 200, fault)
        req.reply(200, {"ok": True, "result": result})

    def _record(self, method: str, params: dict, status: int, fault: Fault | None) -> None:
        with self._cond:
            self.calls.append(Call(method, params, status, time.monotonic(), fault))
            self._cond.notify_all()

    # ----------------------------------------------------------------- Bot API methods

    def _api_getMe(self, params: dict) -> dict:
        return self.bot_user

    def _api_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.webhook.get("url"):
                raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            if offset:
                self.confirmed_up_to = max(self.confirmed_up_to, offset - 1)
                while self.pending and self.pending[0]["update_id"] < offset:
                    self.pending.popleft()
            while not self.pending and not self._closing.is_set() and not self.down:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self.down:
                raise _Dropped  # the outage cuts the long poll's connection
            batch = list(itertools.islice(self.pending, limit))
            self.fetched.update(u["update_id"] for u in batch)
            self._cond.notify_all()
            return batch

    def _api_sendMessage(self, params: dict) -> dict:
        chat_id = _int(params.get("chat_id"))
        text = str(params.get("text", ""))
        mode = params.get("parse_mode")
        plain = self._check_text(text, mode)
        reply = params.get("reply_parameters") or {}
        reply_to = _int(reply.get("message_id")) if reply else _int(params.get("reply_to_message_id"))
        markup = self._check_markup(params["reply_markup"]) if params.get("reply_markup") else None
        with self._cond:
            chat = self.chats.get(chat_id)
            if chat is None:
                raise _BadRequest("chat not found")
            sent = Sent(next(self._ids), chat_id, text, mode, reply_to, plain, params=params)
            self.sent.append(sent)
            if markup:
                self.markups[chat_id, sent.message_id] = markup
            if reply_to is not None:
                self._replies[chat_id, reply_to].append(sent)
            self._cond.notify_all()
        return {**self._as_message(sent), "message_id": sent.message_id}

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id:
            raise _BadRequest("query id is empty")
        if len(str(params.get("text", ""))) > 200:
            raise _BadRequest("MESSAGE_TOO_LONG")
        with self._cond:
            if query_id not in self.callbacks or query_id in self.callback_answers:
                raise _BadRequest("query is too old and response timeout expired or query ID is invalid")
            self.answered.append(params)
            self.callback_answers[query_id] = params
            self._cond.notify_all()
        return True

    def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        key = (_int(params.get("chat_id")), _int(params.get("message_id")))
        markup = self._check_markup(params.get("reply_markup") or {})
        with self._cond:
            sent = next((m for m in self.sent if (m.chat_id, m.message_id) == key), None)
            if sent is None:
                raise _BadRequest("message to edit not found")
            if (self.markups.get(key) or {}).get("inline_keyboard", []) == markup.get("inline_keyboard", []):
                raise _BadRequest("message is not modified: specified new message content and reply markup are "
                                  "exactly the same as a current content and reply markup of the message")
            self.markups[key] = markup
            self._cond.notify_all()
            return self._as_message(sent)

    @staticmethod
    def _check_markup(markup: dict) -> dict:
        """Telegram's limits on an inline keyboard: a text per button, callback data of 1-64 bytes."""
        for row in markup.get("inline_keyboard", ()):
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise _BadRequest("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _BadRequest("BUTTON_DATA_INVALID")  # Telegram's limit on callback_data
        return markup

    def _api_sendChatAction(self, params: dict) -> bool:
        if params.get("action") not in CHAT_ACTIONS:
            raise _BadRequest("wrong parameter action in request")
        if _int(params.get("chat_id")) not in self.chats:
            raise _BadRequest("chat not found")
        return True

    def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands") or []
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")) or not 1 <= len(c.get("description", "")) <= 256:
                raise _BadRequest(f"invalid command {c!r}")
        with self._cond:
            self.commands = list(commands)
        return True

    def _api_getMyCommands(self, params: dict) -> list[dict]:
        with self._cond:
            return list(self.commands)

    def _api_deleteMyCommands(self, params: dict) -> bool:
        with self._cond:
            self.commands = []
        return True

    def _api_deleteWebhook(self, params: dict) -> bool:
        with self._cond:
            self.webhook = {}
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self.pending.clear()
            self._cond.notify_all()
        return True

    def _api_setWebhook(self, params: dict) -> bool:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _BadRequest("secret token contains unallowed characters")
        with self._cond:
            starting = not self.webhook.get("url") and url
            self.webhook = {"url": url, "secret_token": secret}
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self.pending.clear()
            self._cond.notify_all()
        if starting:
            self._spawn(self._deliver_webhooks, "botapi-webhook")
        return True

    def _api_getWebhookInfo(self, params: dict) -> dict:
        with self._cond:
            return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self.pending)}

    def _api_close(self, params: dict) -> bool:
        return True

    def _api_logOut(self, params: dict) -> bool:
        return True

    def _check_text(self, text: str, mode: str | None) -> str:
        if mode not in (None, "HTML"):
            raise _BadRequest(f"unsupported parse_mode {mode!r} in the stand-in")
        try:
            plain = telegram_html_text(text) if mode == "HTML" else text
        except ValueError as exc:
            raise _BadRequest(f"can't parse entities: {exc}") from None
        if not plain.strip():
            raise _BadRequest("message text is empty")
        if telegram_units(plain) > MESSAGE_LIMIT:
            raise _BadRequest("message is too long")
        return plain

    # ----------------------------------------------------------------- webhook delivery

    def post_webhook(self, update: dict, secret: str | None) -> int:
        """POST ``update`` to the registered webhook with ``secret`` as the secret header; the HTTP status."""
        url = urlsplit(self.webhook["url"])
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        try:
            conn.request("POST", url.path or "/", json.dumps(update), headers)
            return conn.getresponse().status
        finally:
            conn.close()

    def _deliver_webhooks(self) -> None:
        """Deliver queued updates one at a time, like Telegram; connection failures are retried."""
        backoff = 0.05
        while not self._closing.is_set():
            with self._cond:
                while not (self.pending and self.webhook.get("url")) and not self._closing.is_set():
                    if not self.webhook.get("url"):
                        return
                    self._cond.wait()
                if self._closing.is_set():
                    return
                update, secret = self.pending[0], self.webhook.get("secret_token")
            try:
                status = self.post_webhook(update, secret)
            except OSError:
                self._closing.wait(backoff)  # the bot's server may not listen yet; Telegram retries too
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.05
            with self._cond:
                self.webhook_deliveries.append((update["update_id"], status))
                if self.pending and self.pending[0] is update:
                    self.pending.popleft()
                self.fetched.add(update["update_id"])
                self._cond.notify_all()


class _ApiError(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


class _Dropped(Exception):
    """The connection is closed without an answer."""


class _BadRequest(_ApiError):
    def __init__(self, reason: str):
        super().__init__(400, f"Bad Request: {reason}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the bot opens up to 256 connections at once under load

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the bot closed a connection mid-request (a cancelled call): nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin: BotApiStandIn

    def do_POST(self) -> None:
        self.standin._handle(self)

    do_GET = do_POST

    def reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


def _parse_params(content_type: str, body: bytes, query: str) -> dict:
    params: dict[str, Any] = dict(parse_qsl(query))
    if "json" in content_type and body:
        params.update(json.loads(body))
        return params
    if "multipart/form-data" in content_type:
        params.update(_parse_multipart(content_type, body))
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            params[key] = json.loads(params[key])
    return params


def _parse_multipart(content_type: str, body: bytes) -> dict:
    from email.parser import BytesParser
    from email.policy import HTTP

    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return {part.get_param("name", header="content-disposition"): part.get_content()
            for part in msg.iter_parts()}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- running a PTB Application


class ApplicationThread:
    """Runs a python-telegram-bot ``Application`` in a background thread, as ``run_polling`` would.

    ``with ApplicationThread(app): ...`` initializes, runs ``post_init``, starts
    polling (or the webhook when ``webhook`` holds ``start_webhook`` arguments) and
    on exit stops it the way PTB does, so pending updates finish first.
    """

    def __init__(self, app: Any, polling: dict | None = None, webhook: dict | None = None):
        self.app = app
        self.polling = {"timeout": 10, **(polling or {})}
        self.webhook = webhook
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ptb-application", daemon=True)

    def __enter__(self) -> "ApplicationThread":
        self._thread.start()
        self._ready.wait(30)
        if self.error:
            raise self.error
        if not self._ready.is_set():
            raise AssertionError("the Application did not start within 30 s")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.loop and self._stop and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self._thread.is_alive():
            raise AssertionError("the Application did not stop within 30 s")
        if self.error:
            raise self.error

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc
        finally:
            self._ready.set()
            self.loop.close()

    async def _main(self) -> None:
        app = self.app
        self._stop = asyncio.Event()
        await app.initialize()
        try:
            if app.post_init:
                await app.post_init(app)
            if self.webhook is not None:
                await app.updater.start_webhook(**self.webhook)
            else:
                await app.updater.start_polling(**self.polling)
            await app.start()
            self._ready.set()
            await self._stop.wait()
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)


# --------------------------------------------------------------------------- pytest fixture


@pytest.fixture
def botapi():
    """A fresh Bot API stand-in on 127.0.0.1 for one test."""
    with BotApiStandIn() as standin:
        yield standin
