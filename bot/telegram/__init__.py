"""The Telegram door: ``app`` wires the application, ``handlers`` translate between Telegram and the
engine, ``guard`` keeps secrets and unwanted users out, ``render`` turns an answer into bounded HTML."""

from bot.telegram.app import (
    PatientRateLimiter, add_telegram_arguments, build_application, run_from_args, run_telegram, webhook_options,
)
from bot.telegram.guard import AllowList, QuestionLimit, check_telegram_settings
from bot.telegram.handlers import (
    ASK_USAGE, COMMANDS, NOT_TEXT, POLLING, REFUSAL, SLOW_DOWN, SOMETHING_WRONG,
)

__all__ = [
    "ASK_USAGE", "AllowList", "COMMANDS", "NOT_TEXT", "POLLING", "PatientRateLimiter", "QuestionLimit", "REFUSAL",
    "SLOW_DOWN", "SOMETHING_WRONG", "add_telegram_arguments", "build_application", "check_telegram_settings",
    "run_from_args", "run_telegram", "webhook_options",
]
