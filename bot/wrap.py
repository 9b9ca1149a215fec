"""Wrapping console text to the terminal's width: between words only, never inside one.

Emphasis is measured as it shows: ANSI codes take no room on the line, ``**`` markers
(when output is not a terminal) take the room they show in. So no line is wider than
the terminal, and a word that is itself wider gets a line of its own, whole.

    >>> wrap("People's Republic of China", 12)
    ["People's", 'Republic of', 'China']
"""

from __future__ import annotations

import re
import shutil

_ANSI = re.compile(r"\033\[[0-9;]*m")
MIN_WIDTH = 20  # narrower than this, indents and citations stop making sense


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins; 80 when output is not a terminal)."""
    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def visible_len(text: str) -> int:
    """Columns ``text`` takes on a terminal: ANSI escape codes take none."""
    return len(_ANSI.sub("", text))


def wrap_words(words: list[str], width: int, first: str = "", rest: str = "") -> list[str]:
    """Greedy lines of whole ``words`` (which may carry emphasis), the first opening with ``first``,
    the others with ``rest``; each at most ``width`` columns unless one word alone is wider."""
    lines: list[str] = []
    line, used = first, visible_len(first)
    empty = True
    for word in words:
        size = visible_len(word)
        if not empty and used + 1 + size > width:
            lines.append(line)
            line, used, empty = rest, visible_len(rest), True
        line += ("" if empty else " ") + word
        used += (0 if empty else 1) + size
        empty = False
    if not empty or not lines:
        lines.append(line.rstrip() if empty else line)
    return lines


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """``text`` (whitespace between words collapsed) as lines of at most ``width`` columns."""
    return wrap_words(text.split(), width, first, rest)


def wrap_block(text: str, width: int, hang: int = 2) -> str:
    """Each line of ``text`` wrapped on its own, continuing under its own indent plus ``hang`` spaces
    (help texts and lists keep their shape)."""
    out = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        out.extend(wrap(line, width, indent, indent + " " * hang) if line.strip() else [""])
    return "\n".join(out)


def span_words(text: str, part: str) -> tuple[int, int]:
    """Indices (start, end) of the words of ``text`` that ``part`` covers; (0, 0) if ``part`` is not in it."""
    at = text.find(part) if part else -1
    if at < 0:
        return 0, 0
    start = len(text[:at].split())
    if at and not text[at - 1].isspace() and start:  # the part opens inside a word ("year.China")
        start -= 1
    return start, len(text[: at + len(part)].split())
