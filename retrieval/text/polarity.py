"""Does a text negate something? English's closed class of negators and negating prefixes, read by the
highlight (a negated question prefers a sentence that negates too) and the ``negation_decline`` rule.
A pattern, like ``rank/shapes.py``, not a rule of its own.

Why: a sentence embedding hardly sees a "not": "which machines are *not* equally powerful?" sits closest to
"they are all equally powerful", which answers the opposite question. Polarity is the commonest
contradiction between two sentences that share their words, and the sentence that answers a negated
question negates too ("..., *except* for the Department of ...", "*neither* in P *nor* NP-complete").

>>> asks_negated("What machines are not equally powerful?"), asks_negated("Is it decidable or not?")
(True, False)
>>> negates("They are all equally powerful."), negates("All offer PhD programs, except for one.")
(False, True)
>>> opposed_word("What has uncomplicated definitions?", "Some have complicated definitions.")
'uncomplicated'
>>> opposed_word("What is unknown about L?", "It is not known whether L equals P.")  # "not known" agrees
''
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from retrieval.text.words import fold, tokenize

ANTONYMS_FILE = Path(__file__).with_name("antonyms.txt")

# a question negates with few words; a sentence that answers one may use any negator, or say what is
# excepted or absent
_ASKED = re.compile(r"\b(?:not|never|no|cannot)\b|n't\b")
_STATED = re.compile(r"\b(?:not|never|no|none|nor|neither|cannot|without|except|nothing|nobody|nowhere)\b|n't\b")
# set phrases with a negator that negate nothing: "whether or not", "may or may not", "not only"
_NOT_NEGATION = re.compile(r"\b(?:(?:whether )?or not|(\w+) or \1 not|not only|not least)\b")
# a negating prefix before a word of five letters or more ("un|known", "in|finite", "non-|binary"); shorter
# bases are mostly false friends ("im|port", "in|form", "dis|play")
_PREFIXED = re.compile(r"(?:un|in|im|il|ir|non-?|dis)([a-z]{5,})")


def _plain(text: str) -> str:
    """``text`` folded, its set phrases with a negator ("whether or not") blanked."""
    return _NOT_NEGATION.sub(" ", fold(text))


def _negates(text: str, pattern: re.Pattern) -> bool:
    return bool(pattern.search(_plain(text)))


def asks_negated(question: str) -> bool:
    """Does the question ask about what is *not* so ("which ... did not", "what is never ...")?"""
    return _negates(question, _ASKED)


def negates(sentence: str) -> bool:
    """Does the sentence negate something ("not", "no", "never", "neither", "without", "except" ...)?"""
    return _negates(sentence, _STATED)


@lru_cache(maxsize=1)
def antonyms() -> dict[str, frozenset[str]]:
    """Token -> the tokens of its antonyms, from WordNet 3.0's antonym pairs (``antonyms.txt``)."""
    out: dict[str, set[str]] = {}
    for line in ANTONYMS_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            a, b = (tokenize(w) for w in line.split())
            if len(a) == 1 and len(b) == 1 and a != b:
                out.setdefault(a[0], set()).add(b[0])
                out.setdefault(b[0], set()).add(a[0])
    return {k: frozenset(v) for k, v in out.items()}


def _negated_tokens(sentence: str) -> frozenset[str]:
    """Tokens of the sentence's words that follow a negator within three words ("not *known*", "no *limit*")."""
    words = re.findall(r"[a-z][a-z'-]*", _plain(sentence))
    out: set[str] = set()
    for i, w in enumerate(words):
        if _STATED.fullmatch(w) or w.endswith("n't"):
            out.update(t for x in words[i + 1:i + 4] for t in tokenize(x))
    return frozenset(out)


def opposed_word(question: str, sentence: str, unseen: frozenset[str] = frozenset()) -> str:
    """The question's word that the sentence says the opposite of: the sentence's word with a negating prefix
    ("*un*complicated" where it says "complicated"), or, among the question's words the articles never use
    (``unseen``, as tokens), one whose antonym it says ("simplicity" where it says "complexity"); "" when
    there is none. A word the sentence says itself opposes nothing, nor does one whose opposite the sentence
    negates ("unknown" where it says "not known")."""
    said = frozenset(tokenize(sentence))
    denied = _negated_tokens(sentence)
    table = antonyms()
    for word in re.findall(r"[a-z][a-z-]*", fold(question)):
        token = tokenize(word)
        if not token or token[0] in said:
            continue
        prefixed = _PREFIXED.fullmatch(word)
        base = tokenize(prefixed.group(1)) if prefixed else []
        opposite = ({base[0]} if base else set()) | (table.get(token[0], frozenset()) if token[0] in unseen else set())
        if (opposite & said) - denied:
            return word
    return ""
