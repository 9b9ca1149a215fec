"""negation_decline: decline a question that asks about what is not so when its best sentence negates
nothing.

Why: "which machines are *not* equally powerful?" is closest in meaning to "they are all equally powerful",
which answers the opposite question; so is "what has *un*complicated definitions?" to "... complicated
definitions" (``text/polarity.py``). When it does not fire: a question that negates nothing ("whether or
not", "may or may not" are no negation) and opposes no word of the sentence (by a negating prefix, or an
antonym of a word the articles never use), or a negated question whose sentence or highlight says "not",
"no", "never", "neither", "without", "except" or the like, or an opposed word whose opposite the
sentence itself negates ("unknown" where it says "not known"). Off: such answers are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.text.polarity import negates, opposed_word

if TYPE_CHECKING:
    from retrieval.query.analyse import Analysis


def negation_decline(a: Analysis, sentence: str, shown: str = "") -> str:
    """The reason to decline, or "" to let the answer stand. For a negated question either sentence may
    negate: the highlight chosen with its context ("It does not run from December ..." after "The ferry
    runs ...") as much as the sentence the question matches by itself."""
    if a.negated and not (negates(sentence) or negates(shown)):
        return "the question asks what is not so, and the best sentence negates nothing"
    word = opposed_word(a.text, sentence, a.unseen)
    if word:
        return f"the question says {word!r}, and the best sentence says the opposite"
    return ""


def never(a: Analysis, sentence: str, shown: str = "") -> str:
    """Off: no reason."""
    return ""
