"""Full names for the passages that use only part of one, for BM25.

A news article names a person in full once ("Wang Yi", "Xi Jinping") and by one
part after that ("Wang stressed ..."). A question names them in full, and the
rarer part ("Yi") then pulled up any passage with the full name, such as a
list of attendees in another article, over the passage that says what "Wang"
said. So within each article, a name part that only ever appears next to
another is added to the BM25 text of the article's passages that use that
other part alone: the ``name_completion`` rule (``text/rules/name_completion.py``),
called through the registry so that it can be switched off and measured.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict

from retrieval.progress import stage
from retrieval.rules import Rules
from retrieval.types import Passage

# both parts must be rarer than this in English (wordfreq Zipf 4.5: ~30 uses per million words), so that
# names qualify ("Wang", "Yi", "Xi", "Jinping") and titles, places and phrases do not ("President Xi",
# "Consul General", "Silk Road")
NAME_ZIPF = 4.5
# two capitalised words side by side; the first not glued to a hyphen ("China-Kazakhstan Lianyungang")
_PAIR = re.compile(r"(?<![-\w])([A-Z][a-z]+)(?= ([A-Z][a-z]+)\b)")
_WORD = re.compile(r"[A-Za-z]+")


def bm25_texts(passages: list[Passage], progress: bool = False, rules: Rules = Rules()) -> list[str]:
    """Each passage's ``context_text``, plus the name parts it leaves out (the ``name_completion`` rule):
    with "Wang Yi met the press." in one passage of an article and "Wang stressed trust." in another, the
    second gets " Yi"."""
    extra = rules.use("name_completion")(passages, progress)
    return [p.context_text + "".join(f" {w}" for w in extra.get(i, ())) + (f" {p.author}" if p.author else "")
            for i, p in enumerate(passages)]


def is_name(word: str) -> bool:
    """Rare enough in English to be a name part ("Wang", "Xiao"), not a title or place word."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "en") < NAME_ZIPF


def full_names(text: str) -> list[str]:
    """The full names in ``text``: two capitalised words side by side, both rare enough to be names."""
    return [f"{a} {b}" for a, b in (m.groups() for m in _PAIR.finditer(text)) if is_name(a) and is_name(b)]


# a capitalised word or an acronym; "KazakhstanZhang", glued by the scraper, is two
_CAPITALISED = re.compile(r"[A-Z][a-z]+|[A-Z]{2,}(?![a-z])")


def names_beyond(text: str, question: str) -> list[str]:
    """The names in ``text`` that ``question`` does not already use, allowing for a demonym or inflection
    ("Kazakh" covers "Kazakhstan"). A name is a capitalised word inside a sentence ("visited China"), or
    one rarer than ``NAME_ZIPF`` wherever it stands; a common word opening a sentence ("Both sides") is not.

    A "who" question answered by a sentence naming only the people the question named ("who was
    ambassador before Zhang Xiao?" -> "... ambassador Zhang Xiao") has found its topic, not its answer.
    """
    asked = {w.lower() for w in _WORD.findall(question)}
    return [m.group(0) for m in _CAPITALISED.finditer(text)
            if (not _opens_sentence(text, m.start()) or is_name(m.group(0)))
            and not any(_same_name(m.group(0).lower(), a) for a in asked)]


def _opens_sentence(text: str, at: int) -> bool:
    """Is ``text[at:]`` a sentence's first word (after any opening quote or bracket)?"""
    before = text[:at].rstrip(" \t\n\"'“‘([")
    return not before or before[-1] in ".!?:;"


def _same_name(a: str, b: str) -> bool:
    """The same word, or one name in two forms sharing most of the shorter ("kazakh", "kazakhstan")."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    return shorter >= 4 and len(os.path.commonprefix((a, b))) >= max(4, 0.75 * shorter)


def lead_names(first: Passage) -> tuple[str, ...]:
    """The full names in an article's lead sentence (the first of its first passage ``first``, after any
    byline): a news article names whom it is about there ("Wang Yi, China's state councilor, said ..."),
    and later passages say "Wang", "he" or nothing."""
    lead = next((s.text for s in first.sentences if s.text != first.byline), "")
    return tuple(dict.fromkeys(full_names(lead)))


def completions(passages: list[Passage], progress: bool = False) -> dict[int, list[str]]:
    """Passage index -> the name parts to add to its BM25 text (see the module's docstring)."""
    by_article: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(passages):
        by_article[p.file].append(i)
    out: dict[int, list[str]] = defaultdict(list)
    for rows in stage(by_article.values(), "names", progress, "article"):
        # each sentence once: passages are overlapping windows
        sentences = {s.start: s.text for i in rows for s in passages[i].sentences}
        text = "\n".join(sentences[k] for k in sorted(sentences))
        pairs = Counter(m.groups() for m in _PAIR.finditer(text))
        words = Counter(_WORD.findall(text))
        body: dict[int, set[str]] = {}  # each passage's words, without the headline every passage shares
        for (first, second), n in pairs.items():
            for part, other in ((second, first), (first, second)):
                # ``part`` never stands alone, ``other`` sometimes does: a surname used alone, say
                if words[part] == n < words[other] and is_name(part) and is_name(other):
                    for i in rows:
                        ws = body.get(i)
                        if ws is None:
                            ws = body[i] = set(_WORD.findall(passages[i].text))
                        if other in ws and part not in ws:
                            out[i].append(part)
    return out
