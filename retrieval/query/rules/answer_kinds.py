"""answer_kinds: the question's wording names an answer kind (date, year, number, percent, money, person); the
ranking prefers sentences of that shape (``rank/shapes.py``) and the kind's own words do not count as topic.

Why: "how many people attended" is answered by a sentence with a number, whatever its other words, and
the articles state the answer as a number, not as the word "many". When it does not fire: a question whose
wording names no kind ("What did the minister say about trade?"), or one about the article itself (that is
the ``metadata`` rule). Off: the ranking sees no kind; the declines still read the kind the wording names.
"""

from __future__ import annotations


def ranked_kind(asked: str, words: frozenset[str]) -> tuple[str, frozenset[str]]:
    """The kind the ranking prefers and the words that named it."""
    return asked, words


def no_kind(asked: str, words: frozenset[str]) -> tuple[str, frozenset[str]]:
    """Off: no kind, and every question word is topic."""
    return "", frozenset()
