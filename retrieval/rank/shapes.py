"""What an answer of each kind looks like: a year, a date, a number, a percentage, an amount of money, a
person's name, a byline, or the article's own outlet or date. Read by the ranking (``answer_kinds``,
``metadata``) and the ``shape_decline`` rule; a pattern, not a rule, so it is not switched off by itself.

>>> has_shape("Relations were established in 1992.", "year"), has_shape("on Tuesday", "year")
(True, False)
"""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.ingest.articles import BYLINE_WORDS
from retrieval.text.words import fold

_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|decades?|twice|once|half"
_NOT_A_DAY = r"anniversary|century|birthday|session|congress|plenary|round|edition|time|annual"
_SHAPES = {
    # a calendar year, or one counted back from the article's date ("diplomatic ties 30 years ago")
    "year": re.compile(r"\b((1[89]|20)\d\d|\d+ years? ago)\b"),
    # "on the 27th" is a day of the month, "the 30th anniversary" is not
    "date": re.compile(rf"\b((19|20)\d\d|{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
                       rf"|\d{{1,2}}(st|nd|rd|th)(?! (?:{_NOT_A_DAY})\b)|\d+ (years?|months?|days?) ago|yesterday|today)\b"),
    "percent": re.compile(r"\d\s?(?:%|percent\b|per cent\b)"),
    # a count or amount: not a calendar year, an ordinal ("the 27th") or a code ("5G")
    # ... or a count with a unit or a magnitude ("$400m", "3bn", "10km") or in a compound ("the 14-story library")
    "number": re.compile(rf"(?<![\w.])(?!(?:1[89]|20)\d\d\b)\d[\d,.]*(?<![.,])"
                         rf"(?:(?![\w-])|(?=(?:k|m|bn|mn|km|kg|kw|mw|gw)\b)|(?=-[a-z]))|\b({_NUMBER_WORDS})\b"),
    # an amount of money: a currency sign or a currency's name beside a number ("$400m", "2.3 billion US dollars")
    "money": re.compile(r"[$€£¥]\s?\d|\d[\d,.]*\s?(?:k|m|bn|mn|thousand|million|billion|trillion)?\s+"
                        r"(?:(?:us|u\.s\.|american|hong kong|singapore) )?(?:dollars?|euros?|yuan|rmb|renminbi|yen|"
                        r"pounds? sterling|rubles?|roubles?|tenge|rupees?|francs?|usd|eur|cny|gbp)\b|\b(?:usd|eur|cny|rmb|us\$)\s?\d"),
    "person": re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+"),
    # "Editor/Ma Xue", "By Jane Doe", "Reporter: Li Wei" as a sentence of its own
    "byline": re.compile(rf"^(?i:{BYLINE_WORDS})\s*[/:：|]?\s*"
                         r"[A-Z][\w'.-]+(?:\s+[A-Z][\w'.-]+){0,3}\s*$"),
}


@lru_cache(maxsize=32_768)  # pure; the same sentences are read again and again while answering
def has_shape(text: str, kind: str, outlet: str = "", date: str = "", byline: str = "") -> bool:
    """Does ``text`` look like an answer of this kind (a date, a number, a name, a byline,
    or the article's own outlet or date)?"""
    if not kind:
        return False
    if kind in ("outlet", "published"):
        value = outlet if kind == "outlet" else date
        return bool(value) and fold(value) in fold(text)
    if kind == "byline" and byline and text == byline:
        return True  # the page's own byline line, whatever its form ("Chinese ambassador to KazakhstanZhang Xiao")
    return bool(_SHAPES[kind].search(text if kind in ("person", "byline") else fold(text)))
