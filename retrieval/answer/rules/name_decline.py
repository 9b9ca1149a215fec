"""name_decline: decline a "who / which city" question whose best sentence names nobody the question does not.

Why: "who was ambassador before Zhang Xiao?" answered by "... ambassador Zhang Xiao" has found its topic,
not its answer. When it does not fire: the question does not ask for a name (``Analysis.wants_name``: not
"whose ...", not "who is <name>?"), or the sentence names someone new (``text/names.py``, ``names_beyond``).
Off: such answers are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.text.names import names_beyond

if TYPE_CHECKING:
    from retrieval.query.analyse import Analysis


def name_decline(a: Analysis, sentence: str, shown: str = "") -> str:
    """The reason to decline, or "" to let the answer stand."""
    if a.wants_name and not names_beyond(sentence, a.text):
        return "the question asks for a name and the best passage names none that the question does not"
    return ""


def never(a: Analysis, sentence: str, shown: str = "") -> str:
    """Off: no reason."""
    return ""
