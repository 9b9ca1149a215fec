"""What each wording rule is worth: every rule of ``retrieval/rules.py`` switched off in turn, one table.

    python benchmarks/ablate.py                  # dev, the held-out sets (pooled) and the cross-corpus set
    python benchmarks/ablate.py --rules lead_names,enumeration

The first row has every rule on (absolute figures); each other row is one rule off, as the change
from the first row (a negative hit@1 means the rule was helping). A rule that helps one set and
hurts another does not earn its place. Indexes are built once per corpus in a temporary folder, and
once more per build-time rule (``bylines``, ``date_lines``, ``datelines``, ``name_completion``: they
change what is indexed) in a folder of its own; each distinct text is encoded once across all of them,
so the whole table takes a few minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.embed.models import make_embedder  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import Question, Report, evaluate, read_questions  # noqa: E402
from retrieval.rules import BUILD_RULES, RULES, parse_rules  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

EVAL = ROOT / "eval"
# set name -> (corpus folder, question files pooled into it)
SETS = {
    "dev": (ROOT / "seeds", [EVAL / "dev.jsonl"]),
    "heldout": (ROOT / "seeds", sorted(EVAL.glob("heldout*.jsonl"))),
    "crosscorpus": (EVAL / "crosscorpus" / "corpus", [EVAL / "crosscorpus" / "questions.jsonl"]),
}
FIGURES = ("hit1", "hit3", "sentence_hit1", "ood_declined", "in_declined")
HEADS = ("h@1", "h@3", "sent", "off↓", "wrong↓")


class MemoEmbedder:
    """The real embedder, encoding each distinct text once across every variant (same vectors: each
    text runs alone through the model)."""

    def __init__(self, inner):
        self.inner = inner
        self.memo: dict[str, np.ndarray] = {}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, progress=False, **kw):
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            for t, v in zip(missing, self.inner.encode(missing, progress=progress)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def near_far(r: Report) -> tuple[str, str]:
    def share(group: str) -> float | None:
        got = r.off_topic_groups.get(group)
        return got[0] / got[1] if got else None
    return share("near-topic"), share("far off-topic")


def figures(r: Report) -> list[float | None]:
    return [getattr(r, f) for f in FIGURES] + list(near_far(r))


def cell(value: float | None, base: float | None) -> str:
    if value is None:
        return "–"
    if base is None:
        return f"{value:.3f}"
    delta = value - base
    return "0" if abs(delta) < 5e-4 else f"{delta:+.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default=",".join(RULES), help="comma-separated rules to switch off in turn")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated sets ({', '.join(SETS)})")
    args = ap.parse_args()
    rules = sorted(parse_rules(args.rules, "--rules"), key=list(RULES).index)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    base = Settings.from_env(environ={}, dotenv=Path("/nonexistent"))
    embedder = MemoEmbedder(make_embedder(base))
    questions: dict[str, list[Question]] = {s: [q for f in SETS[s][1] for q in read_questions(f)] for s in sets}
    variants = [("all rules on", frozenset())] + [(f"− {r}", frozenset({r})) for r in rules]
    results: dict[str, dict[str, list]] = {name: {} for name, _ in variants}
    with tempfile.TemporaryDirectory() as tmp:
        built: dict[tuple[Path, tuple[str, ...]], Path] = {}  # (corpus, build rules off) -> its index

        def index_for(corpus: Path, off: frozenset[str]) -> Path:
            """The index of ``corpus`` built with ``off``'s build-time rules off, built on first use."""
            key = (corpus, tuple(sorted(off & set(BUILD_RULES))))
            if key not in built:
                built[key] = Path(tmp) / f"index-{len(built)}"
                settings = base.with_(corpus_dir=corpus, index_dir=built[key], rules_off=frozenset(key[1]))
                Engine(settings, embedder=embedder).build(progress=False)
            return built[key]

        for s in sets:
            corpus = SETS[s][0]
            for name, off in variants:
                engine = Engine(base.with_(corpus_dir=corpus, index_dir=index_for(corpus, off), rules_off=off),
                                embedder=embedder)
                engine.load()
                results[name][s] = figures(evaluate(questions[s], engine.answer))
                print(f"  {s}: {name} done", file=sys.stderr, flush=True)
    heads = ["variant"]
    for s in sets:
        extra = ("near↓", "far↓") if any(v is not None for v in results[variants[0][0]][s][-2:]) else ()
        heads += [f"{s} {h}" for h in HEADS + extra]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    first = results[variants[0][0]]
    for name, _ in variants:
        row = [name]
        for s in sets:
            values = results[name][s]
            keep = len(HEADS) + (2 if any(v is not None for v in first[s][-2:]) else 0)
            row += [cell(v, None if name == variants[0][0] else b) for v, b in zip(values[:keep], first[s][:keep])]
        print("| " + " | ".join(row) + " |")
    print(f"\nquestions: " + ", ".join(f"{s} {len(questions[s])}" for s in sets))


if __name__ == "__main__":
    main()
