"""pronoun_context: a sentence that opens with a pronoun is also about what the sentence before it named.

Why: "Immediately behind the basilica is the Grotto, a Marian place of prayer. It is a replica of the grotto
at Lourdes ..." - asked what the Grotto is, the second sentence's own words hold only "grotto"; the one it
continues names the subject. For the sentence choice, a sentence opening with a third-person pronoun ("It",
"He", "She", "They", "This", "These", "Its", "His", "Her", "Their") counts the words of the sentence before
it as its own too when its overlap with the question is measured. When it does not fire: the sentence
opens otherwise, or it is the passage's first. A passage's own words are unchanged (it holds both
sentences); it moves only through its best sentence's score, which counts in the passage's. Off: each
sentence's overlap is its own words alone.
"""

from __future__ import annotations

import re

_OPENS_WITH_PRONOUN = re.compile(r"^[\"'“‘(]?(?:it|he|she|they|this|these|its|his|her|their)\b", re.I)


def with_antecedents(texts: tuple[str, ...], tokens: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
    """Per sentence, its tokens, and its predecessor's when it opens with a pronoun."""
    return tuple(t | tokens[j - 1] if j and _OPENS_WITH_PRONOUN.match(texts[j]) else t for j, t in enumerate(tokens))


def unchanged(texts: tuple[str, ...], tokens: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
    """Off: each sentence's own tokens."""
    return tokens
