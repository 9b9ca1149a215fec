"""enumeration: "the second point" prefers a sentence opening that item ("Second, ...", "The second is to ...").

Why: official statements enumerate their points, and the sentence opening the asked-for item holds it even
when it shares few words with the question. When it does not fire: a question with no ordinal word; a
sentence that mentions the ordinal later on ("the second day") does not open an item. Off: no item pattern.

>>> bool(enumeration_item("What was the second of the four points?").match("the second is to trade more"))
True
"""

from __future__ import annotations

import re

from retrieval.text.words import fold

_ORDINALS = r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last"
_ORDINAL = re.compile(rf"\b({_ORDINALS})\b")


def enumeration_item(question: str) -> re.Pattern | None:
    """How a sentence opening the asked-for item of a list starts (on folded text), or None."""
    m = _ORDINAL.search(fold(question))
    return re.compile(rf"^\W*(?:the )?{m.group(1)}(?:ly\b|,| is\b| was\b)") if m else None


def none(question: str) -> re.Pattern | None:
    """Off: no item is asked for."""
    return None
