"""Fit the answer confidence (``retrieval/answer/confidence.json``) and print its calibration tables.

    python benchmarks/fit_confidence.py          # fit on the shipped articles' sets, report on both
    python benchmarks/fit_confidence.py --check  # only the tables, with the stored numbers

The curve is fitted on every answered question about the shipped articles (dev and held-out sets;
an answered off-topic question counts as a wrong first passage) and reported, unchanged, on the
cross-corpus set, which it never saw. Declined questions have no passage and confidence 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ablate import SETS, MemoEmbedder  # noqa: E402
from retrieval.answer.confidence import FEATURES, FILE, Calibration  # noqa: E402
from retrieval.embed.models import make_embedder  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import contains_answer, read_questions  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.01)


def observations(engine: Engine, files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Features and correctness (first passage holds an answer) of every answered question."""
    x, y = [], []
    for q in (q for f in files for q in read_questions(f)):
        a = engine.answer(q.q)
        if a.declined:
            continue
        x.append([a.debug[f] for f in FEATURES])
        y.append(q.answerable and contains_answer(a.passages[0].text, q.answers))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method (a small ridge keeps it finite when classes separate)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-a @ w))
        grad = a.T @ (p - y) + ridge * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + ridge * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w[:-1], float(w[-1])


def table(name: str, cal: Calibration, x: np.ndarray, y: np.ndarray) -> str:
    p = np.array([cal.probability(dict(zip(FEATURES, row))) for row in x])
    lines = [f"{name}: {len(y)} answered", "| confidence | answered | first passage right | mean confidence |",
             "|---|---|---|---|"]
    for lo, hi in zip(BANDS, BANDS[1:]):
        m = (p >= lo) & (p < hi)
        if m.any():
            lines.append(f"| {lo:.1f}–{min(hi, 1):.1f} | {int(m.sum())} | {y[m].mean():.3f} | {p[m].mean():.3f} |")
    high = p >= 0.8
    lines.append(f"| **≥ 0.8** | {int(high.sum())} | {y[high].mean() if high.any() else float('nan'):.3f} | "
                 f"{p[high].mean() if high.any() else float('nan'):.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="do not fit; report the stored calibration")
    args = ap.parse_args()
    base = Settings.from_env(environ={}, dotenv=Path("/nonexistent"))
    embedder = MemoEmbedder(make_embedder(base))
    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, corpus, files in (("shipped articles (dev + held-out)", *SETS["dev"][:1], SETS["dev"][1] + SETS["heldout"][1]),
                                    ("cross-corpus", *SETS["crosscorpus"])):
            engine = Engine(base.with_(corpus_dir=corpus, index_dir=Path(tmp) / name[:5]), embedder=embedder)
            engine.build(progress=False)
            data[name] = observations(engine, files)
    fitted_on = "shipped articles (dev + held-out)"
    if args.check:
        cal = Calibration.load()
    else:
        w, b = fit(*data[fitted_on])
        cal = Calibration(tuple(float(v) for v in w), b)
        FILE.write_text(json.dumps({
            "weights": dict(zip(FEATURES, cal.weights)), "bias": cal.bias,
            "fitted_on": "eval/dev.jsonl + eval/heldout*.jsonl on seeds/ (answered questions)",
            "by": "benchmarks/fit_confidence.py"}, indent=2) + "\n", encoding="utf-8")
        print(f"fitted: weights {dict(zip(FEATURES, np.round(w, 3)))}, bias {b:.3f} -> {FILE.relative_to(ROOT)}")
    for name, (x, y) in data.items():
        print("\n" + table(name + (" (fitted on)" if name == fitted_on and not args.check else ""), cal, x, y))


if __name__ == "__main__":
    main()
