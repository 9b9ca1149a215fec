"""shape_decline: decline a date, year or number question whose best sentence states none.

Why: "what year" is not answered by "on the 27th" or "on Tuesday", nor "how many" by a sentence without a
count; showing it would look like an answer. When it does not fire: the question names no such kind, or the
best sentence has the shape (``rank/shapes.py``). Off: such answers are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.rank.shapes import has_shape

if TYPE_CHECKING:
    from retrieval.query.analyse import Analysis


def shape_decline(a: Analysis, sentence: str, shown: str = "") -> str:
    """The reason to decline, or "" to let the answer stand."""
    kind = a.decline_kind
    if kind in ("date", "year", "number") and not has_shape(sentence, kind):
        return f"the question asks for a {kind} and the best passage states none"
    return ""


def never(a: Analysis, sentence: str, shown: str = "") -> str:
    """Off: no reason."""
    return ""
