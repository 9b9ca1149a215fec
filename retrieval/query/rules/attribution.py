"""attribution: the words of an "according to X" / "per X" / leading scene clause do not count towards
choosing the sentence.

Why: they help find the passage (it is about that speaker or occasion) but not the sentence to emphasise:
the one naming the speaker or the occasion ("According to the official website of the Consulate General
...") is seldom the one holding what was said. When it does not fire: a question with no such clause, or a
comma clause after the wh-word ("What did she say, and when?"). Off: no words are set aside.

>>> sorted(attribution_words("what values have they kept, per the consul general in almaty?"))
['almati', 'consul', 'general']
"""

from __future__ import annotations

import re

from retrieval.text.words import fold, tokenize

# "..., per Jiang Wei?", "according to the ambassador, ...": who said it, not what was said; and a leading
# clause that sets the scene before the wh-word ("When Xi met Tokayev in Beijing, what ...?", "At the
# roundtable, how long ...?")
_ATTRIBUTION = re.compile(r"\baccording to\b[^,?;]*|,\s*per\b[^,?;]*"
                          r"|^[^,?;]*(?=,\s*(?:(?:in|on|at|for|by|from|to|with|under|after|since|during)\s+)?"
                          r"(?:what|which|who|whom|whose|when|where|why|how)\b)")


def attribution_words(question: str) -> frozenset[str]:
    """Tokens of the clause naming whom the question quotes or where it happened."""
    return frozenset(t for m in _ATTRIBUTION.finditer(fold(question)) for t in tokenize(m.group(0)))


def none(question: str) -> frozenset[str]:
    """Off: no clause is set aside."""
    return frozenset()
