"""Fit the ranking weights by leave-one-article-out cross-validation, on every set at once.

    python benchmarks/fit_weights.py                 # every stage
    python benchmarks/fit_weights.py polarity        # one stage: sentence, passage, phrase or polarity

Every answerable question names the article(s) that answer it (``docs``). For each article in turn,
the grid point that scores best on the questions about the *other* articles is chosen and scored on
that article's questions: the held-out figure says what the fitting would give on an article it
never saw. Four stages: the sentence weights (which sentence is emphasised; they do not move a
passage's score), the passage weights, and the phrase and polarity weights on the shipped weights. Declines are off while ranking is measured.
The objective is hit@1 + answer-sentence hit@1 over answerable questions, pooled.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ablate import SETS, MemoEmbedder  # noqa: E402
from retrieval.answer.compose import DeclinePolicy  # noqa: E402
from retrieval.embed.models import make_embedder  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import contains_answer, read_questions  # noqa: E402
from retrieval.rank.search import Weights  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

SENTENCE_GRID = {"sentence_overlap": [0.0, 0.25, 0.5, 0.75, 1.0], "sentence_shape": [0.1, 0.2, 0.3],
                 "sentence_context": [0.0, 0.25, 0.5, 0.75, 1.0]}
PASSAGE_GRID = {"passage": [0.2, 0.3, 0.4], "sentence": [0.2, 0.3, 0.4], "bm25": [0.4, 0.6, 0.8]}
PHRASE_GRID = {"phrase": [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]}
POLARITY_GRID = {"sentence_polarity": [0.0, 0.05, 0.1, 0.2, 0.4]}


def scores(engines, weights: Weights) -> dict[str, list[float]]:
    """article -> per-question (hit@1 + sentence hit@1) under ``weights``, declines off."""
    out: dict[str, list[float]] = defaultdict(list)
    for engine, questions in engines:
        engine.weights = weights
        engine.load()
        for q in questions:
            a = engine.answer(q.q)
            first = bool(a.passages) and contains_answer(a.passages[0].text, q.answers)
            sent = bool(a.answer_sentence) and contains_answer(a.answer_sentence, q.answers)
            out[q.docs[0] if q.docs else "?"].append(first + sent)
    return out


def cross_validate(engines, base: Weights, grid: dict[str, list[float]]) -> Weights:
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    table = []
    for point in points:
        table.append((point, scores(engines, replace(base, **point))))
        print(f"  {point}: {sum(map(sum, table[-1][1].values())):.0f}", file=sys.stderr, flush=True)
    articles = sorted(table[0][1])
    held, chosen = [], []
    for art in articles:
        best = max(table, key=lambda t: sum(sum(v) for a, v in t[1].items() if a != art))
        held.append((art, best[0], sum(best[1][art]) / (2 * len(best[1][art])), len(best[1][art])))
        chosen.append(best[0])
    print(f"\n| held-out article | questions | chosen on the others | held-out (hit@1 + sentence)/2 |\n|---|---|---|---|")
    for art, point, value, n in held:
        print(f"| {art} | {n} | {point} | {value:.3f} |")
    overall = max(table, key=lambda t: sum(map(sum, t[1].values())))
    print(f"chosen on every article: {overall[0]}; defaults score "
          f"{sum(map(sum, scores(engines, base).values())):.0f}, chosen {sum(map(sum, overall[1].values())):.0f}")
    return replace(base, **overall[0])


def main() -> None:
    settings = Settings.from_env(environ={}, dotenv=Path("/nonexistent"))
    embedder = MemoEmbedder(make_embedder(settings))
    with tempfile.TemporaryDirectory() as tmp:
        engines = []
        for name, (corpus, files) in (("seeds", (SETS["dev"][0], SETS["dev"][1] + SETS["heldout"][1])),
                                      ("crosscorpus", SETS["crosscorpus"])):
            engine = Engine(settings.with_(corpus_dir=corpus, index_dir=Path(tmp) / name), embedder=embedder,
                            policy=replace(DeclinePolicy(), threshold=-9.0, shape_check=False))
            engine.build(progress=False)
            engines.append((engine, [q for f in files for q in read_questions(f) if q.answerable]))
        stages = sys.argv[1:] or ["sentence", "passage", "phrase", "polarity"]
        weights = Weights()
        if "sentence" in stages:
            print("## sentence weights")
            weights = cross_validate(engines, weights, SENTENCE_GRID)
        if "passage" in stages:
            print("\n## passage weights")
            cross_validate(engines, weights, PASSAGE_GRID)
        for stage, grid in (("phrase", PHRASE_GRID), ("polarity", POLARITY_GRID)):
            if stage in stages:
                print(f"\n## {stage} weight (on the weights as shipped)")
                cross_validate(engines, Weights.load(), grid)


if __name__ == "__main__":
    main()
