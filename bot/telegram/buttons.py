"""The 👍 / 👎 buttons under an answer: their callback data (``fb:<answer id>:u`` or ``:d``, no user data in
it) and the keyboard. The feedback row is added to, or replaced in, whatever keyboard a message already has,
so other buttons on the same message (a "More" button) survive a press.

>>> feedback_keyboard(None, "Xy3_k9Qp2Lw").inline_keyboard[0][0].callback_data
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
    """``markup``'s other rows with the feedback row (for ``answer_id``, ``chosen`` marked) last."""
    rows = [list(row) for row in (markup.inline_keyboard if markup else ())
            if not any(parse(b.callback_data) for b in row)]
    return InlineKeyboardMarkup([*rows, feedback_row(answer_id, chosen)])


def buttons_for(logged: Logged) -> InlineKeyboardMarkup | None:
    """The buttons under a logged answer; none when the log is off (a press could not be kept) or when
    the question could not be used at all (the reply is a notice such as "type a question", not an answer)."""
    if not logged.answer_id or logged.answer.unusable:
        return None
    return feedback_keyboard(None, logged.answer_id)
