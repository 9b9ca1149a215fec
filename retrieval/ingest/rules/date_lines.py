"""date_lines: a short line near the top of a page that states a date ("2022-05-29 15:17:55", "Seetao
2022-01-03 18:20", "Hill Gazette 2023-09-30") gives the article's date, and its outlet when the words
beside the date name one; it is kept as text, cut to the date and its time when nothing else on it is
a name ("2022-05-20 0 By" -> "2022-05-20").

Why: a scraped page states when it was published, and by whom, on a line of its own under the
headline; "when was the article published?" and "which site ran it?" are answered from that line, and
the citation shows the date. As an ordinary line it is dropped with the page's other unpunctuated short
lines. When it does not fire: a line of more than eight words, one without a full date (a year with a
numeric or named month and a day), or one below the page's first fifteen lines. Off: those lines are
ordinary lines (dropped unless the page has no prose at all); the date comes from the story's opening
(the ``datelines`` rule) or the file's front matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.ingest.articles import ISO_DATE, LONG_DATE, TIME_OF_DAY, date_in, leftover_words


@dataclass(frozen=True)
class DateLine:
    """What a date line states, and the part of it (``start``:``end``) kept as the article's text."""

    date: str     # as the line has it ("2022-05-29", "March 14, 2024")
    outlet: str   # the words beside the date when they read as a name ("Seetao"), else ""
    start: int
    end: int


def date_line(text: str) -> DateLine | None:
    """The date (and outlet) a short line states, or None when it is not such a line."""
    date = date_in(text) if len(text.split()) <= 8 else ""
    if not date:
        return None
    rest = leftover_words(text)
    if rest and rest[0].isupper():
        return DateLine(date, rest, 0, len(text))
    # a bare date line ("2022-05-20 0 By"): keep the date and time, so "when was it posted?" finds it
    m = ISO_DATE.search(text) or LONG_DATE.search(text)
    at = TIME_OF_DAY.match(text, m.end() + 1) if text[m.end():m.end() + 1] == " " else None
    return DateLine(date, "", m.start(), (at or m).end())


def none(text: str) -> DateLine | None:
    """Off: no line is a date line."""
    return None
