"""The registry of wording rules (names only; it imports nothing, so settings can check against it): every heuristic that reads a question's or an article's wording.

Each rule is named here once, with what it does; ``BOT_RULES_OFF`` (``Settings.rules_off``) switches
any of them off, so ``benchmarks/ablate.py`` can measure what each one is worth on every question set
and a rule that does not earn its place can be removed. The code of a rule asks ``rules.on(name)``.

>>> rules = Rules(frozenset({"enumeration"}))
>>> rules.on("enumeration"), rules.on("lead_names")
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass

# name -> what the rule does (shown by ablate.py and in docs/quality.md)
RULES: dict[str, str] = {
    "speller": "question words the articles never use are mapped to close words they do",
    "core": "the question without its wh-phrase is embedded as well; a passage counts as close as the nearer",
    "answer_kinds": "the question's wording names an answer kind (date, number, person...); sentences of "
                    "that shape are preferred and the kind's own words do not count as topic",
    "metadata": "questions about an article's outlet, date or byline read its first and last passages "
                "and rank the one holding that line as the article's best",
    "attribution": "the words of an 'according to X' / 'per X' / leading scene clause do not count "
                   "towards choosing the sentence",
    "enumeration": "'the second point' prefers a sentence opening that item ('Second, ...')",
    "lead_names": "a name from an article's lead sentence counts, in part, for its passages that lack it",
    "shape_decline": "decline a date or number question whose best sentence states none",
    "dateline_decline": "decline a date question whose best sentence shares none of its words but a "
                        "dateline's place",
    "name_decline": "decline a 'who / which city' question whose best sentence names nobody new",
}


class UnknownRule(ValueError):
    """A rule name that is not in ``RULES``."""


def parse_rules(raw: str, name: str = "BOT_RULES_OFF") -> frozenset[str]:
    """Rule names from a comma-separated list; an unknown one raises naming it and the known ones."""
    out = frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())
    unknown = sorted(out - RULES.keys())
    if unknown:
        raise UnknownRule(f"{name} names unknown rule(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(RULES)}")
    return out


@dataclass(frozen=True)
class Rules:
    """Which wording rules are switched off."""

    off: frozenset[str] = frozenset()

    def __post_init__(self):
        unknown = sorted(self.off - RULES.keys())
        if unknown:
            raise UnknownRule(f"unknown rule(s) {', '.join(map(repr, unknown))}; known: {', '.join(RULES)}")

    def on(self, name: str) -> bool:
        if name not in RULES:
            raise UnknownRule(f"unknown rule {name!r}")
        return name not in self.off
