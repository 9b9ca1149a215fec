"""Fit the answer confidence (``retrieval/answer/confidence.json``) and print its calibration tables.

    python benchmarks/fit_confidence.py                      # fit, print the held-out tables, write the file
    python benchmarks/fit_confidence.py --check              # the same tables, and the stored curve's; writes nothing
    python benchmarks/fit_confidence.py --near-with-article  # stricter folds (see below)

Both kinds of question set are pooled: the shipped news articles' (``eval/dev.jsonl``,
``eval/heldout*.jsonl`` on ``seeds/``) and the cross-corpus encyclopedia articles'
(``eval/crosscorpus/``). Every answered question is one observation: the curve's features
(``retrieval/answer/confidence.py``) and whether the first passage holds an answer (an answered
off-topic question counts as wrong). Declined questions have no passage and confidence 0.

What a new article would see is measured by **leave-one-article-out** cross-validation: one fold per
article of either corpus (a question names its article(s) in ``docs``); an off-topic question belongs
to no article and goes to a fold by a hash of its text. Each fold's curve is fitted on the questions
that do not touch its article and scores the fold's questions; the tables printed are those held-out
scores, per set. With ``--near-with-article`` the near-topic questions (SQuAD 2.0's unanswerable ones,
which name the article they were written against) stay with that article's fold instead: its curve
then never saw a near-topic question. The curve shipped is fitted on everything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ablate import SETS, MemoEmbedder  # noqa: E402
from retrieval.answer.confidence import FEATURES, FILE, Calibration, features  # noqa: E402
from retrieval.embed.models import make_embedder  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import OFF_TOPIC_GROUPS, contains_answer, read_questions  # noqa: E402
from retrieval.progress import stage  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.01)
HIGH = 0.8
RIDGE = 1.0  # on standardised features: keeps a fold's curve finite when few questions sit at one end
# set name -> (corpus, question files)
POOLS = {"shipped articles": (SETS["dev"][0], SETS["dev"][1] + SETS["heldout"][1]),
         "cross-corpus": SETS["crosscorpus"]}


@dataclass(frozen=True)
class Observation:
    """One answered question: where it came from, what the curve reads, whether the first passage is right."""

    pool: str
    question: str
    answerable: bool
    group: str                 # "near-topic", "far off-topic" or "" (``evaluate.OFF_TOPIC_GROUPS``)
    docs: tuple[str, ...]
    x: tuple[float, ...]       # FEATURES, in order
    correct: bool


def observations(pool: str, engine: Engine, files: list[Path]) -> list[Observation]:
    """Every answered question of ``files``, with the exact features the engine's confidence read."""
    questions = [q for f in files for q in read_questions(f)]
    out = []
    for q in stage(questions, pool, True, unit="question"):
        a = engine.answer(q.q)
        if a.declined:
            continue
        seen = features(engine.evidence(engine.clean_question(q.q)[0]), engine.policy)
        out.append(Observation(pool, q.q, q.answerable, OFF_TOPIC_GROUPS.get(q.src, ""), q.docs,
                               tuple(seen[f] for f in FEATURES),
                               q.answerable and contains_answer(a.passages[0].text, q.answers)))
    return out


def folds(obs: list[Observation], near_with_article: bool = False) -> tuple[list[str], np.ndarray]:
    """The articles (one fold each) and each observation's fold."""
    articles = sorted({d for o in obs if o.answerable for d in o.docs})

    def fold(o: Observation) -> int:
        if o.docs and (o.answerable or near_with_article):
            return articles.index(sorted(o.docs)[0])
        return int(hashlib.sha1(o.question.encode("utf-8")).hexdigest()[:8], 16) % len(articles)
    return articles, np.array([fold(o) for o in obs])


def fit(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method on standardised features (ridge on the weights, not the
    bias), returned as weights and bias on the raw features."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    a = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    penalty = ridge * np.eye(len(w))
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-a @ w))
        w -= np.linalg.solve((a * (p * (1 - p))[:, None]).T @ a + penalty, a.T @ (p - y) + penalty @ w)
    weights = w[:-1] / sd
    return weights, float(w[-1] - weights @ mu)


def curve(x: np.ndarray, y: np.ndarray) -> Calibration:
    w, b = fit(x, y)
    return Calibration(tuple(float(v) for v in w), b)


def scores(cal: Calibration, x: np.ndarray) -> np.ndarray:
    return np.array([cal.probability(dict(zip(FEATURES, row))) for row in x])


def heldout(obs: list[Observation], near_with_article: bool = False) -> np.ndarray:
    """Each observation's confidence from the curve of the fold that did not see its article."""
    articles, fold = folds(obs, near_with_article)
    x = np.array([o.x for o in obs], dtype=np.float64)
    y = np.array([o.correct for o in obs], dtype=np.float64)
    p = np.zeros(len(obs))
    for k, article in enumerate(articles):
        # a question about two articles is kept out of training while either is held out (an off-topic
        # one belongs to no article, unless ``near_with_article`` gives near-topic ones theirs)
        train = np.array([fold[i] != k and not (article in o.docs and (o.answerable or near_with_article))
                          for i, o in enumerate(obs)])
        test = fold == k
        p[test] = scores(curve(x[train], y[train]), x[test])
    return p


def table(name: str, p: np.ndarray, y: np.ndarray) -> str:
    """Bands of confidence: how many answers, how many with the right first passage, the mean confidence."""
    lines = [f"{name}: {len(y)} answered", "| confidence | answered | first passage right | mean confidence |",
             "|---|---|---|---|"]
    for lo, hi in zip(BANDS, BANDS[1:]):
        m = (p >= lo) & (p < hi)
        if m.any():
            lines.append(f"| {lo:.1f}–{min(hi, 1):.1f} | {int(m.sum())} | {y[m].mean():.3f} | {p[m].mean():.3f} |")
    high = p >= HIGH
    right = f"{y[high].mean():.3f}" if high.any() else "–"
    mean = f"{p[high].mean():.3f}" if high.any() else "–"
    lines.append(f"| **≥ {HIGH}** | {int(high.sum())} ({high.mean():.1%} of answers) | {right} | {mean} |")
    return "\n".join(lines)


def tables(label: str, obs: list[Observation], p: np.ndarray) -> str:
    """One table per pool, and the cross-corpus one again without its near-topic questions."""
    y = np.array([o.correct for o in obs], dtype=np.float64)
    pool = np.array([o.pool for o in obs])
    out = [table(f"{name}, {label}", p[pool == name], y[pool == name]) for name in POOLS]
    m = (pool == "cross-corpus") & np.array([o.group != "near-topic" for o in obs])
    out.append(table(f"cross-corpus without its near-topic questions, {label}", p[m], y[m]))
    return "\n\n".join(out)


def collect() -> list[Observation]:
    try:  # the engine loads the stored curve; one fitted on other features is refused, so start from a neutral one
        Calibration.load()
    except ValueError as e:
        print(f"{e}: starting from a neutral curve", file=sys.stderr)
        write(Calibration(), "nothing yet")
    base = Settings.from_env(environ={}, dotenv=Path("/nonexistent"))
    embedder = MemoEmbedder(make_embedder(base))
    obs: list[Observation] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (corpus, files)) in enumerate(POOLS.items()):
            engine = Engine(base.with_(corpus_dir=corpus, index_dir=Path(tmp) / str(i)), embedder=embedder)
            engine.build(progress=False)
            obs += observations(name, engine, files)
    return obs


def write(cal: Calibration, fitted_on: str) -> None:
    FILE.write_text(json.dumps({"features": list(FEATURES), "weights": dict(zip(FEATURES, cal.weights)),
                                "bias": cal.bias, "fitted_on": fitted_on, "by": "benchmarks/fit_confidence.py"},
                               indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="do not fit or write; also report the stored curve")
    ap.add_argument("--near-with-article", action="store_true",
                    help="keep near-topic questions in their named article's fold (stricter held-out figures)")
    args = ap.parse_args()
    obs = collect()
    x = np.array([o.x for o in obs], dtype=np.float64)
    y = np.array([o.correct for o in obs], dtype=np.float64)
    print(tables("held-out folds (leave one article out)", obs, heldout(obs, args.near_with_article)))
    fitted = curve(x, y)
    if args.check:
        stored = Calibration.load()
        print("\n" + tables("stored curve, every question (seen in fitting)", obs, scores(stored, x)))
        same = np.allclose(stored.weights + (stored.bias,), fitted.weights + (fitted.bias,), atol=1e-3)
        print(f"\nstored curve {'matches' if same else 'DIFFERS from'} a fit on these questions now")
        return
    write(fitted, "every answered question of eval/dev.jsonl + eval/heldout*.jsonl on seeds/ and of "
                  "eval/crosscorpus/questions.jsonl on its corpus")
    print(f"\nfitted on {len(y)} answered: weights {dict(zip(FEATURES, np.round(fitted.weights, 3)))}, "
          f"bias {fitted.bias:.3f} -> {FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
