"""speller: question words the articles never use are mapped to close words they do ("diplomatik" -> "diplomatic").

Why: a misspelt rare word finds nothing in BM25 and moves the vector little. When it does not fire: a word
the articles use, or one no article word is close to (``query/speller.py`` holds the mechanism). Off: the
question is searched as typed.
"""

from __future__ import annotations

from retrieval.query.speller import Speller


def fix(speller: Speller, question: str) -> str:
    """The question with unknown words replaced by the corpus's closest ones."""
    return speller.fix(question)


def unchanged(speller: Speller, question: str) -> str:
    """Off: the question as typed."""
    return question
