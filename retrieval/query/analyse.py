"""Question -> what it asks: one frozen record computed once per question, read by every later stage.

The answer-kind patterns and the name check's question forms live here (the declines read the kind
the wording names whatever the rules); the wording rules that shape the record (the core, answer kinds,
metadata, attribution clauses, enumeration items) are modules of ``query/rules/``, called through the
registry (``retrieval/rules.py``) so each can be switched off and measured (``benchmarks/ablate.py``).

>>> a = analyse("When did the bank open its branch, according to Reuters?")
>>> a.kind, a.core, sorted(a.attribution)
('date', 'the bank open its branch, according to Reuters', ['reuter'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.query.rules.attribution import attribution_words  # noqa: F401 (re-exported)
from retrieval.query.rules.core import question_core  # noqa: F401 (re-exported)
from retrieval.query.rules.enumeration import enumeration_item  # noqa: F401 (re-exported)
from retrieval.rules import Rules
from retrieval.text.names import is_name
from retrieval.text.polarity import asks_negated
from retrieval.text.words import common_stems, fold, tokenize

# what a question asks for, by its wording; used to prefer sentences of that shape.
# "which Chinese paper", "what state news agency": up to two describing words before the kind
_MODIFIER = r"(?!(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|the|a|an)\b)[\w-]+"
_ARTICLE = r"article|piece|story|report|op-?ed|editorial|interview|commentary|column|news item"
_WHEN = r"\b(?:when|(?:what|which) (?:day|date|time))\b"
# in a question about the page itself, the words that name the page or its publishing: a story's text never
# says "the article" or "published", so they are neither its topic nor words the articles lack ("which outlet
# published the article about the roundtable?" is about the roundtable)
_PAGE_WORDS = re.compile(rf"\b(?:{_ARTICLE}|articles|stories|pieces|publish(?:ed|es)?|post(?:ed|s)?|"
                         r"release[sd]?|ran|run|carr(?:y|ied|ies)|report(?:ed|s)?|wr(?:ote|itten)|put (?:out|up|online))\b")
_TYPE_PATTERNS = {
    # about the article itself, not its content: when it came out, who wrote it (the answer is its dateline or byline)
    "published": re.compile(rf"{_WHEN}(?P<topic>.*?\b(?:{_ARTICLE})\b.*?)"
                            r"\b(published|posted|released|dated|put online|came out|went online|written)\b"
                            # the verb first: "when did Seetao put out its piece on X"
                            rf"|{_WHEN}(?P<source>.*?)"
                            rf"\b(publish|post|release|put out|put up|run|carry)\b(?P<subject>.*?\b(?:{_ARTICLE})\b.*)"),
    "byline": re.compile(rf"\bwho (edited|wrote|authored|penned|compiled)\b|\b(which|what|who (?:was|is|were) the)(?P<mod>(?: {_MODIFIER}){{0,2}}) "
                         r"(editor|author|reporter|writer|journalist|correspondent)\b|\b(edited|written|authored|penned) by\b"),
    "year": re.compile(r"\b(what|which) year\b"),
    "date": re.compile(r"^\W*(when|on what day|in what year|in which year)\b|\b(what|which) (years?|dates?|days?|months?)\b|\b(how long ago|since when)\b"),
    "percent": re.compile(r"\b((?:what|which|by what) (?:percentage|percent|proportion|share)|how many percent)\b"),
    # an amount of money: "how much did X cost", "how much money", "what was the (annual) budget / price"
    "money": re.compile(r"\bhow much money\b|\bhow much\b[^?]*?\b(cost|costs|costing|price[sd]?|pay|paid|spend|spent|"
                        r"invest|invested|worth|fund|funded|earn|earned|raise|raised|charge[sd]?|sell|sold)\b"
                        r"|\b(?:what|which) (?:is|was|were|are|will be)? ?(?:the |its |their )?(?:\w+ ){0,2}"
                        r"(?:cost|price|budget|fee|sum)s?\b"),
    "number": re.compile(r"\b(how many|how much|how long|how often|how far|how big|how large|how old|"
                         r"(?:what|which|by what) (?:number|amount|factor|margin|multiple))\b"),
    "outlet": re.compile(rf"\b(which|what)(?P<mod>(?: {_MODIFIER}){{0,2}}) (news ?paper|paper|website|web site|site|news agency|agency|outlet|broadcaster|tv|television|channel|publication|media|magazine|wire|news service)\b|\bwho (reported|published|carried|ran|broadcast)\b"),
    "person": re.compile(rf"^\s*(who|whom|whose)\b|\bwhich(?P<mod>(?: {_MODIFIER}){{0,2}}) (person|official|minister|president|ambassador|scholar|academic)\b"),
}
_METADATA = ("outlet", "published", "byline")
# the kind the declines check for the kind a question names: an article's date is a date, a percentage or an
# amount of money a number
_DECLINE_AS = {"published": "date", "percent": "number", "money": "number"}
# "which city / what company ...": the answer is a proper name ("what kind of country" asks for a description)
_NAMED = re.compile(rf"\b(?:which|what)(?: (?!(?:kind|type|sort|of)\b){_MODIFIER}){{0,2}} (?:cit(?:y|ies)|towns?|villages?|countr(?:y|ies)|nations?"
                    r"|regions?|provinces?|capital|count(?:y|ies)|districts?|compan(?:y|ies)|firms?|airlines?|banks?"
                    r"|universit(?:y|ies)|organi[sz]ations?|rivers?|ports?|airports?|mountains?|islands?|lakes?)\b")
# "who is Zhang Xiao?": the rest, when it is only a name, asks what that person is
_IDENTITY = re.compile(r"^\W*who(?:'s| is| was| are| were)\s+([^?]+?)\W*$")
def question_kind(question: str) -> tuple[str, frozenset[str]]:
    """The answer's kind and the tokens of the words that named it ("which newspaper" -> newspaper).

    Those words say what the answer is, not what it is about: the articles state the answer
    as a name or a number, not as the word "newspaper" or "year", so the words a passage
    should share with the question are the others.
    """
    q = fold(question)
    for kind, pattern in _TYPE_PATTERNS.items():
        m = pattern.search(q)
        if m:  # the describing words ("which *Chinese* paper", "the *article about X*") are topic, so they stay
            topic = " ".join(v for k, v in m.groupdict().items() if v and k in ("mod", "topic", "source", "subject"))
            return kind, frozenset(tokenize(m.group(0))) - frozenset(tokenize(topic))
    return "", frozenset()


def asks_for_name(question: str, kind: str) -> bool:
    """Does the question ask for a person, place or organisation by name ("who ...", "which city ...")?
    "Whose support ..." does not: its answer is as often "the world's" or "the people's"; nor does
    "who is Tokayev?", whose answer is what he is ("Kazakhstan's president")."""
    q = fold(question)
    if kind == "person":
        identity = _IDENTITY.match(q)
        return not (q.lstrip(" \"'¿(").startswith("whose")
                    or identity and all(is_name(w) for w in re.findall(r"[a-z]+", identity.group(1))))
    return bool(_NAMED.search(q))


METADATA = _METADATA


@dataclass(frozen=True)
class Analysis:
    """What a question asks, as every ranking and answering stage reads it."""

    text: str                   # the question as searched (spelling already folded to the articles)
    tokens: tuple[str, ...]     # its BM25 tokens (stemmed, stop words out)
    core: str                   # without its wh-phrase and auxiliary; == text when there is none (or the rule is off)
    kind: str                   # the answer kind the ranking prefers ("" for none, or when its rule is off)
    asked: str                  # the answer kind the wording names, whatever the rules (the declines read it)
    kind_words: frozenset[str]  # tokens of the words that named the kind ("which *newspaper*")
    topic: tuple[str, ...]      # tokens minus the kind words: what a passage should share with the question
    attribution: frozenset[str]  # tokens of an "according to X" / "per X" / leading scene clause
    content: tuple[str, ...]    # tokens minus the attribution: what the emphasised sentence should share
    telling: frozenset[str]     # topic tokens but the commonest English words
    item: re.Pattern | None     # how a sentence opening the asked-for item of a list starts
    wants_name: bool            # a "who / which city" question: the answer is a name
    negated: bool = False       # it asks about what is not so ("which ... did not"; ``text/polarity.py``)
    unseen: frozenset[str] = frozenset()  # its tokens the articles never use (set by the search, which knows them)

    @property
    def decline_kind(self) -> str:
        """The kind the declines check (``_DECLINE_AS``)."""
        return _DECLINE_AS.get(self.asked, self.asked)

    @property
    def about_article(self) -> bool:
        """The question asks for the article's own outlet, date or byline."""
        return self.kind in METADATA


def analyse(text: str, rules: Rules = Rules()) -> Analysis:
    """The record for one question (``text`` already cleaned and spelling-folded)."""
    tokens = tuple(tokenize(text))
    asked, kind_words = question_kind(text)
    ranked_kind, kind_words = rules.use("metadata" if asked in METADATA else "answer_kinds")(asked, kind_words)
    if ranked_kind in METADATA:
        kind_words |= frozenset(tokenize(" ".join(m.group(0) for m in _PAGE_WORDS.finditer(fold(text)))))
    topic = tuple(t for t in tokens if t not in kind_words) or tokens
    said = rules.use("attribution")(text)
    content = tuple(t for t in tokens if t not in said) or tokens
    common = common_stems(text)
    telling = frozenset(t for t in topic if t not in common) or frozenset(topic)
    return Analysis(
        text=text, tokens=tokens, core=rules.use("core")(text),
        kind=ranked_kind, asked=asked, kind_words=kind_words, topic=topic, attribution=said,
        content=content, telling=telling, item=rules.use("enumeration")(text),
        wants_name=asks_for_name(text, _DECLINE_AS.get(asked, asked)), negated=asks_negated(text),
    )
