"""core: the question without its wh-phrase is embedded as well; a passage counts as close as the nearer.

Why: MiniLM weighs "In what year did" as much as the topic words, so a passage that shares only the
question's form can look close. When it does not fire: a question with no leading wh-word or auxiliary
("Kazakhstan railway opening date") is its own core. Off: the question itself is the core, so the engine
encodes one vector.

>>> question_core("When did the bank open its branch?")
'the bank open its branch'
"""

from __future__ import annotations

import re

# a leading wh-phrase and auxiliary ("In what year did", "Which", "How many were") give the question's
# form, not its topic; MiniLM weighs them as much as topic words, so the rest is embedded as well
_PREPOSITION = r"in|on|for|at|by|from|to|with|under|after|since|during|of|about|into|through|over"
_AUXILIARY = r"did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|shall|might|may|must"
_WH_LEAD = re.compile(
    rf"^\s*(?:(?:{_PREPOSITION})\s+)?(?:what|which|who|whom|whose|when|where|why|how)"
    rf"(?:\s+(?:many|much|long|often|far|old|kind of|sort of|type of))?\b\s*(?:(?:{_AUXILIARY})\b\s*)?", re.I)
_AUX_LEAD = re.compile(rf"^\s*(?:{_AUXILIARY})\b\s*", re.I)


def question_core(question: str) -> str:
    """The question without its leading wh-phrase, auxiliary and question mark."""
    core = _WH_LEAD.sub("", question, count=1)
    if core == question:
        core = _AUX_LEAD.sub("", question, count=1)
    core = " ".join(re.sub(r"\?+\s*$", "", core).split())
    return core or question


def unchanged(question: str) -> str:
    """Off: the question as asked."""
    return question
