"""metadata: questions about an article's outlet, date or byline ("which newspaper ran the story on X",
"when was the piece on X posted", "who wrote it") read its first and last passages and rank the one holding
that line as the article's best (the rank half is ``rank/rules/metadata.py``).

Why: the question names the article by its topic, and the line that answers it (a dateline, a byline, a
"Source: ..." line) sits at the article's start or end, seldom in the passage closest to the topic. When it
does not fire: a question about what the article says ("which newspaper did the minister praise" still is,
by its wording; "what did the paper say about X" is not). Off: the ranking treats it as a plain question.
"""

from __future__ import annotations


def ranked_kind(asked: str, words: frozenset[str]) -> tuple[str, frozenset[str]]:
    """The article-level kind (outlet, published, byline) and the words that named it."""
    return asked, words


def no_kind(asked: str, words: frozenset[str]) -> tuple[str, frozenset[str]]:
    """Off: no kind, and every question word is topic."""
    return "", frozenset()
