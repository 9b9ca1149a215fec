"""Retrieval figures over a question file shaped like ``eval/dev.jsonl``.

A hit is a returned passage containing one of the expected answers, compared
case-insensitively with curly quotes folded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from retrieval.text.words import fold
from retrieval.types import Answer


# what a question record's ``src`` says about an off-topic question: near-topic ones sit close to what the
# articles say without being answered there (SQuAD 2.0's impossible questions); far ones are about other news
OFF_TOPIC_GROUPS = {"squad2-impossible": "near-topic", "far": "far off-topic"}


@dataclass(frozen=True)
class Question:
    q: str
    answers: tuple[str, ...]
    kind: str          # "in" answerable, "ood" off-topic (the articles do not answer it)
    src: str = ""      # where the question came from, when the file says
    docs: tuple[str, ...] = ()  # the files that answer it, when the file says

    @property
    def answerable(self) -> bool:
        return self.kind != "ood"


@dataclass
class Report:
    """The figures the ``eval`` command prints; ``misses`` lists failures for tuning."""

    n_in: int = 0
    n_ood: int = 0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr5: float = 0.0
    sentence_hit1: float = 0.0
    ood_declined: float = 0.0
    in_declined: float = 0.0
    # off-topic questions by group (``OFF_TOPIC_GROUPS``): group -> (declined, asked)
    off_topic_groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    # answers given, by whether they were hedged (``Answer.hedged``): hedged -> (first passage right, given);
    # an off-topic question answered counts as wrong
    answered: dict[bool, tuple[int, int]] = field(default_factory=dict)
    max_passages: int = 0
    max_chars: int = 0
    misses: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("questions (answerable / off-topic)", f"{self.n_in} / {self.n_ood}"),
            ("passage hit@1", f"{self.hit1:.3f}"),
            ("passage hit@3", f"{self.hit3:.3f}"),
            ("MRR@5", f"{self.mrr5:.3f}"),
            ("answer-sentence hit@1", f"{self.sentence_hit1:.3f}"),
            ("off-topic declined", f"{self.ood_declined:.3f}"),
        ]
        for group, (declined, asked) in sorted(self.off_topic_groups.items()):
            rows.append((f"  {group} declined ({asked})", f"{declined / asked:.3f}"))
        rows.append(("answerable wrongly declined", f"{self.in_declined:.3f}"))
        given = sum(n for _, n in self.answered.values())
        for hedged, label in ((True, "hedged answers"), (False, "other answers")) if given else ():
            right, n = self.answered.get(hedged, (0, 0))
            rows.append((f"{label}: share / right", f"{n / given:.3f} / {right / n:.3f}" if n else f"{0:.3f} / -"))
        return rows + [
            ("most passages shown / longest", f"{self.max_passages} / {self.max_chars} chars"),
        ]

    def table(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        lines = [f"{'figure'.ljust(width)}  value", f"{'-' * width}  -----"]
        lines += [f"{k.ljust(width)}  {v}" for k, v in self.rows()]
        return "\n".join(lines)


def read_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Question(str(d["q"]), tuple(d.get("answers", [])), d.get("kind", "in"),
                                str(d.get("src", "")), tuple(d.get("docs", []))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a question record ({exc})") from None
    return out


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    t = fold(text)
    return any(fold(a) in t for a in answers)


def evaluate(questions: list[Question], ask: Callable[[str], Answer]) -> Report:
    r = Report()
    for q in questions:
        a = ask(q.q)
        r.max_passages = max(r.max_passages, len(a.passages))
        r.max_chars = max([r.max_chars] + [len(h.text) for h in a.passages])
        # the rank of the first passage holding the answer, 0 for none (an off-topic question has none)
        first = next((i for i, h in enumerate(a.passages[:5], 1) if contains_answer(h.text, q.answers)), 0) \
            if q.answerable else 0
        if not a.declined:
            good, given = r.answered.get(a.hedged, (0, 0))
            r.answered[a.hedged] = (good + (first == 1), given + 1)
        if not q.answerable:
            r.n_ood += 1
            r.ood_declined += a.declined
            group = OFF_TOPIC_GROUPS.get(q.src)
            if group:
                declined, asked = r.off_topic_groups.get(group, (0, 0))
                r.off_topic_groups[group] = (declined + a.declined, asked + 1)
            if not a.declined:
                r.misses.append(f"off-topic answered: {q.q!r} -> {a.answer_sentence[:80]!r} {a.debug}")
            continue
        r.n_in += 1
        r.hit1 += first == 1
        r.hit3 += 0 < first <= 3
        r.mrr5 += 1 / first if first else 0.0
        sent_ok = bool(a.answer_sentence) and contains_answer(a.answer_sentence, q.answers)
        r.sentence_hit1 += sent_ok
        r.in_declined += a.declined
        if a.declined:
            r.misses.append(f"declined: {q.q!r} ({a.declined_reason}) {a.debug}")
        elif first != 1 or not sent_ok:
            r.misses.append(f"rank {first or '-'} sentence {'ok' if sent_ok else 'MISS'}: {q.q!r} -> {a.answer_sentence[:90]!r}")
    if r.n_in:
        r.hit1, r.hit3, r.mrr5, r.sentence_hit1, r.in_declined = (
            x / r.n_in for x in (r.hit1, r.hit3, r.mrr5, r.sentence_hit1, r.in_declined))
    if r.n_ood:
        r.ood_declined /= r.n_ood
    return r
