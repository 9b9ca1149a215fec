"""A page's stated date and outlet in one form each, so every citation reads the same.

Dates become ``YYYY-MM-DD`` wherever the page states the year: in the date itself
("March 14, 2024", "2022-05-29 15:17:55") or elsewhere on the page (a "May 29th"
dateline under a ``2022-05-29`` timestamp). A date without a year the page never
gives stays as the page has it ("June 6"): inventing a year would cite a wrong date.
Parsing is python-dateutil's, not regexes of our own; finding the date on the page
stays with the cleaner.

Outlets stated in lower case ("People's daily") get capitals on their words, the way
proper names are written; names with capitals already ("CCTV", "Seetao") are kept.

    >>> iso_date("March 14, 2024")
    '2024-03-14'
    >>> iso_date("May 29th", near=date(2022, 5, 29))
    '2022-05-29'
    >>> iso_date("June 6")
    'June 6'
    >>> proper_name("People's daily")
    "People's Daily"
"""

from __future__ import annotations

from datetime import date, datetime

from dateutil import parser as dateutil_parser

# words a proper name keeps in lower case unless it opens the name ("Voice of America")
_MINOR = frozenset("a an and at by for in of on or the to".split())
# two defaults that differ in every part: what the text does not state comes out different
_DEFAULTS = (datetime(2000, 1, 1), datetime(2004, 2, 2))


def _parse(stated: str, default: datetime) -> datetime | None:
    try:
        return dateutil_parser.parse(stated, default=default)
    except (ValueError, OverflowError):
        return None


def stated_date(stated: str) -> date | None:
    """The date ``stated`` gives in full (year, month and day), else None."""
    a, b = (_parse(stated, d) for d in _DEFAULTS)
    if a is None or b is None or a.date() != b.date():
        return None
    return a.date()


def iso_date(stated: str, near: date | None = None) -> str:
    """``stated`` as ``YYYY-MM-DD`` when its year is known, taking the year from ``near`` (a full date
    the page gives elsewhere) when ``stated`` has none; otherwise ``stated`` unchanged."""
    stated = stated.strip()
    a, b = (_parse(stated, d) for d in _DEFAULTS)
    if a is None or b is None or (a.month, a.day) != (b.month, b.day):
        return stated  # not a date, or no day or month in it ("2022", "May 2022")
    if a.year == b.year:
        return a.date().isoformat()
    if near is None:
        return stated
    years = [near.year + d for d in (-1, 0, 1)]  # the year that puts the day closest to the page's date
    days = [_day(y, a.month, a.day) for y in years]
    closest = min((d for d in days if d), key=lambda d: abs(d - near), default=None)
    return closest.isoformat() if closest else stated


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # February 29th in a year without it
        return None


def proper_name(name: str) -> str:
    """``name`` with capitals on the words it states in lower case ("People's daily" -> "People's Daily");
    web addresses ("chinadaily.com.cn") and words with capitals or digits are left as they are."""
    words = name.split(" ")
    out = []
    for i, word in enumerate(words):
        plain = word[:1].isalpha() and word.islower() and "." not in word.strip(".") and "/" not in word
        if plain and (i == 0 or word not in _MINOR):
            word = word[0].upper() + word[1:]
        out.append(word)
    return " ".join(out)
