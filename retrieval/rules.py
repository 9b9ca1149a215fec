"""The registry of wording rules, the one place they are named: every heuristic that reads a question's or
an article's wording is a module of its own, listed here with the function the pipeline calls when the rule
is on and the one it calls when it is off.

``BOT_RULES_OFF`` (``Settings.rules_off``) switches any of them off, so ``benchmarks/ablate.py`` can
measure what each is worth on every question set, and one that does not earn its place can be removed or
replaced (by a model, say: register another function under the same name). The pipeline never tests a rule
by name; it calls ``rules.use(name)(...)``, which is the rule's function or its idle twin.

>>> rules = Rules(frozenset({"enumeration"}))
>>> rules.on("enumeration"), rules.on("lead_names")
(False, True)
>>> rules.use("enumeration")("What was the second point?") is None
True

Most rules act per question, on any build. The build-time ones (stage "ingest": cleaning a page; "index":
the text an index is built from) change what is indexed: a build records which of them were off
(``Rules.build_off``, in its manifest), and ``Engine.ensure_index`` rebuilds an index made with others, so
switching one off (or back on) and starting the bot, or ``newsbot index``, measures what it is worth.

To add a rule: write ``retrieval/<stage>/rules/<name>.py`` with a docstring (what it does, why, when it
does not fire), its function and an idle function of the same signature, list it in ``_REGISTERED`` below,
call it through ``rules.use`` where it belongs, and give it a test on a small corpus the test writes
(``tests/test_rule_mechanisms.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType


@dataclass(frozen=True)
class Rule:
    """One registered rule: its module, the function the pipeline calls when it is on, and when it is off.

    The module is imported on first use, so that this registry (read by ``settings.py`` to check
    ``BOT_RULES_OFF``) imports no later stage.
    """

    name: str
    stage: str               # where the pipeline calls it: at build time "ingest" (cleaning a page) or "index"
                             # (the text an index is built from); per question "query", "rank", "decide" or
                             # "compose" (the answer shown)
    path: str                # its module: code and documentation
    on_function: str
    off_function: str

    @cached_property
    def module(self) -> ModuleType:
        return importlib.import_module(self.path)

    @cached_property
    def apply(self) -> Callable:
        return getattr(self.module, self.on_function)

    @cached_property
    def idle(self) -> Callable:
        return getattr(self.module, self.off_function)

    @property
    def summary(self) -> str:
        """The first paragraph of the module's docstring, after the rule's name."""
        head = (self.module.__doc__ or "").split("\n\n")[0]
        return " ".join(head.split(":", 1)[-1].split())


# order: as the pipeline meets them (ablate.py and docs/quality.md list them so)
_REGISTERED = (
    Rule("bylines", "ingest", "retrieval.ingest.rules.bylines", "byline_author", "none"),
    Rule("date_lines", "ingest", "retrieval.ingest.rules.date_lines", "date_line", "none"),
    Rule("datelines", "ingest", "retrieval.ingest.rules.datelines", "opening", "none"),
    Rule("name_completion", "index", "retrieval.text.rules.name_completion", "complete", "none"),
    Rule("speller", "query", "retrieval.query.rules.speller", "fix", "unchanged"),
    Rule("core", "query", "retrieval.query.rules.core", "question_core", "unchanged"),
    Rule("answer_kinds", "query", "retrieval.query.rules.answer_kinds", "ranked_kind", "no_kind"),
    Rule("metadata", "query", "retrieval.query.rules.metadata", "ranked_kind", "no_kind"),
    Rule("attribution", "query", "retrieval.query.rules.attribution", "attribution_words", "none"),
    Rule("enumeration", "query", "retrieval.query.rules.enumeration", "enumeration_item", "none"),
    Rule("lead_names", "rank", "retrieval.rank.rules.lead_names", "lead_tokens", "none"),
    Rule("pronoun_context", "rank", "retrieval.rank.rules.pronoun_context", "with_antecedents", "unchanged"),
    Rule("shape_decline", "decide", "retrieval.answer.rules.shape_decline", "shape_decline", "never"),
    Rule("name_decline", "decide", "retrieval.answer.rules.name_decline", "name_decline", "never"),
    Rule("negation_decline", "decide", "retrieval.answer.rules.negation_decline", "negation_decline", "never"),
    Rule("furniture", "compose", "retrieval.answer.rules.furniture", "furniture", "never"),
)
RULES: dict[str, Rule] = {r.name: r for r in _REGISTERED}
DECLINES = tuple(r.name for r in _REGISTERED if r.stage == "decide")  # in the order decide.py asks them
# the stages that shape what is indexed: a build records which of their rules were off, and one made with
# others is rebuilt (``Engine.ensure_index``); the other rules act per question on any build
BUILD_STAGES = ("ingest", "index")
BUILD_RULES = tuple(r.name for r in _REGISTERED if r.stage in BUILD_STAGES)


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
    """Which wording rules are switched off, and the function each stands for now."""

    off: frozenset[str] = frozenset()

    def __post_init__(self):
        unknown = sorted(self.off - RULES.keys())
        if unknown:
            raise UnknownRule(f"unknown rule(s) {', '.join(map(repr, unknown))}; known: {', '.join(RULES)}")

    def on(self, name: str) -> bool:
        if name not in RULES:
            raise UnknownRule(f"unknown rule {name!r}")
        return name not in self.off

    @property
    def build_off(self) -> tuple[str, ...]:
        """The build-time rules switched off, in registry order: part of a build's identity (its manifest)."""
        return tuple(name for name in BUILD_RULES if name in self.off)

    def use(self, name: str) -> Callable:
        """The rule's function when it is on, its idle twin (same signature, does nothing) when off."""
        rule = RULES[name] if name in RULES else None
        if rule is None:
            raise UnknownRule(f"unknown rule {name!r}")
        return rule.idle if name in self.off else rule.apply
