"""lead_names: a full name from an article's lead sentence counts, in part, for its passages that lack it.

Why: a news article names whom it is about in full in its lead ("Wang Yi, China's state councilor, said
...") and later passages say "Wang", "he" or nothing; a question naming that person should still find what
he said three passages on. The credit (``rank/features.py``, ``lead_name_credit``) is ``Weights.lead_name``
times the IDF of each asked name token the passage lacks. When it does not fire: the question names nobody
in the article's lead, or the passage already holds the name. Off: no article has lead names (no credit, and
the decline's coverage reads the passage alone).
"""

from __future__ import annotations

from retrieval.text.words import tokenize


def lead_tokens(names: tuple[str, ...]) -> frozenset[str]:
    """Tokens of an article's lead-sentence names (``Source.names``)."""
    return frozenset(tokenize(" ".join(names)))


def none(names: tuple[str, ...]) -> frozenset[str]:
    """Off: no lead names."""
    return frozenset()
