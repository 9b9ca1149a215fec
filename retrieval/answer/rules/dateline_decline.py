"""dateline_decline: decline a date question whose best sentence shares none of its telling words but a
dateline's place.

Why: a date beside nothing the question asked about is another event's ("When was Nur-Sultan renamed?"
finding "Nur-Sultan, June 6 (Xinhua) – Wang Yi ... held talks"); a dateline's place is where the story was
filed, not what it is about. When it does not fire: a question that asks no date, or a best sentence that
shares a telling word outside its dateline. Off: such answers are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.ingest.articles import without_dateline_place
from retrieval.text.words import tokenize

if TYPE_CHECKING:
    from retrieval.query.analyse import Analysis


def dateline_decline(a: Analysis, sentence: str, shown: str = "") -> str:
    """The reason to decline, or "" to let the answer stand."""
    if (a.asked in ("date", "year") and a.telling
            and not a.telling & frozenset(tokenize(without_dateline_place(sentence)))):
        return f"the question asks for a {a.decline_kind} and the best sentence shares none of the question's words"
    return ""


def never(a: Analysis, sentence: str, shown: str = "") -> str:
    """Off: no reason."""
    return ""
