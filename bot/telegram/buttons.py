"""The 👍 / 👎 buttons under an answer: their callback data (``fb:<answer id>:u`` or ``:d``, no user data in
it) and keyboards. A press replaces the two buttons in whatever keyboard the message has, so other buttons
on it (the "More" button) survive, and the "More" press removes only its own button.

>>> feedback_row("Xy3_k9Qp2Lw")[0].callback_data
'fb:Xy3_k9Qp2Lw:u'
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from retrieval.feedback.log import Logged

PREFIX = "fb:"
PATTERN = re.compile(r"fb:([A-Za-z0-9_-]{1,40}):([ud])")  # CallbackQueryHandler(pattern=PATTERN)
UP, DOWN = "👍", "👎"
CHOSEN = "✅ "  # marks the button this user pressed


def parse(data: str | None) -> tuple[str, bool] | None:
    """(answer id, thumbs up?) from a button's callback data; None when it is not a feedback button."""
    match = PATTERN.fullmatch(data or "")
    return (match.group(1), match.group(2) == "u") if match else None


def feedback_row(answer_id: str, chosen: bool | None = None) -> list[InlineKeyboardButton]:
    """The two buttons; ``chosen`` (True = 👍, False = 👎) is marked."""
    return [InlineKeyboardButton((CHOSEN if chosen is True else "") + UP, callback_data=f"{PREFIX}{answer_id}:u"),
            InlineKeyboardButton((CHOSEN if chosen is False else "") + DOWN, callback_data=f"{PREFIX}{answer_id}:d")]


def feedback_keyboard(markup: InlineKeyboardMarkup | None, answer_id: str,
                      chosen: bool | None = None) -> InlineKeyboardMarkup:
    """``markup`` with its 👍 / 👎 (for ``answer_id``) marked as ``chosen``, every other button where it was;
    the two are added as a row of their own when ``markup`` has none."""
    fresh = feedback_row(answer_id, chosen)
    rows, placed = [], False
    for row in (markup.inline_keyboard if markup else ()):
        kept = [b for b in row if not parse(b.callback_data)]
        if len(kept) < len(row) and not placed:
            kept, placed = kept + fresh, True
        if kept:
            rows.append(kept)
    return InlineKeyboardMarkup(rows if placed else [*rows, fresh])


def without(markup: InlineKeyboardMarkup | None, prefix: str) -> InlineKeyboardMarkup | None:
    """``markup`` less the buttons whose callback data starts with ``prefix``; None when none are left."""
    rows = [[b for b in row if not (b.callback_data or "").startswith(prefix)] for row in
            (markup.inline_keyboard if markup else ())]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def rateable(logged: Logged) -> str:
    """The answer id to put under ``logged``'s answer, "" for none: not when the log is off (a press could
    not be kept), nor under a decline (the report lists what was declined) or a notice such as "type a
    question"."""
    return "" if logged.answer.declined else logged.answer_id
