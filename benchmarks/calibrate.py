"""Measure retrieval variants on a question file and print one table per sweep.

    python benchmarks/calibrate.py [eval/dev.jsonl]

Builds a throwaway index of seeds/, then re-ranks the same questions under
several evidence weights and decline thresholds. This is how the defaults in
``retrieval/search.py`` (Weights) and ``retrieval/answer.py`` (DeclinePolicy)
were chosen; it tunes numbers, never wording.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.answer.compose import DeclinePolicy  # noqa: E402
from retrieval.embed.models import Embedder  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluate import evaluate, read_questions  # noqa: E402
from retrieval.rank.search import Searcher, Weights  # noqa: E402
from retrieval.settings import Settings  # noqa: E402


class CachedEmbedder(Embedder):
    """Encodes each distinct question once across all variants."""

    def __init__(self):
        super().__init__()
        self.memo = {}

    def encode(self, texts, progress=False):
        import numpy as np

        missing = [t for t in texts if t not in self.memo]
        if missing:
            for t, v in zip(missing, super().encode(missing, progress)):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def main() -> None:
    qfile = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "dev.jsonl"
    questions = read_questions(qfile)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(environ={}, dotenv=Path("/nonexistent")).with_(
            corpus_dir=ROOT / "seeds", index_dir=Path(tmp))
        engine = Engine(settings, embedder=CachedEmbedder())
        engine.build(progress=False)
        base_w, base_p = Weights(), DeclinePolicy()
        rows = []
        grid = itertools.product([0.2, 0.3, 0.4], [0.3, 0.4], [0.3, 0.6, 0.8, 1.0], [0.0, 2.0, 4.0, 6.0, 8.0])
        for wp, ws, wb, half in grid:
            weights = replace(base_w, passage=wp, sentence=ws, bm25=wb, bm25_half=half)
            engine.weights = weights
            engine._searcher = Searcher(engine._data, weights, engine._known_words())
            engine.policy = replace(base_p, threshold=-9, shape_check=False)  # rank only
            r = evaluate(questions, engine.answer)
            rows.append((r.hit1, r.hit3, r.mrr5, r.sentence_hit1, f"passage={wp} sentence={ws} bm25={wb} half={half}"))
        rows.sort(reverse=True)
        print(f"{'hit@1':>6} {'hit@3':>6} {'MRR@5':>6} {'sent@1':>6}  weights (decline off)")
        for row in rows[:10]:
            print(f"{row[0]:6.3f} {row[1]:6.3f} {row[2]:6.3f} {row[3]:6.3f}  {row[4]}")
        print(f"\n{'hit@1':>6} {'hit@3':>6} {'sent@1':>6} {'ood↓':>6} {'in↓':>6}  answer-kind weights (decline on)")
        engine.policy = base_p
        for shape, metadata in itertools.product([0.1, 0.2, 0.3], [0.03, 0.1, 0.2]):
            weights = replace(base_w, sentence_shape=shape, metadata=metadata)
            engine.weights = weights
            engine._searcher = Searcher(engine._data, weights, engine._known_words())
            r = evaluate(questions, engine.answer)
            print(f"{r.hit1:6.3f} {r.hit3:6.3f} {r.sentence_hit1:6.3f} {r.ood_declined:6.3f} {r.in_declined:6.3f}  "
                  f"sentence_shape={shape} metadata={metadata}")
        engine.weights = base_w
        engine._searcher = Searcher(engine._data, base_w, engine._known_words())
        print(f"\n{'ood↓':>6} {'in↓':>6} {'hit@1':>6}  decline policy (default weights)")
        prow = []
        for th, cov, unseen in itertools.product([0.28, 0.30, 0.32, 0.34, 0.38], [0.3, 0.4, 0.5], [0.3, 0.4, 0.5]):
            engine.policy = replace(base_p, threshold=th, coverage=cov, unseen=unseen)
            r = evaluate(questions, engine.answer)
            prow.append((r.ood_declined - 2 * r.in_declined, r.ood_declined, r.in_declined, r.hit1,
                         f"threshold={th} coverage={cov} unseen={unseen}"))
        prow.sort(reverse=True)
        for row in prow[:10]:
            print(f"{row[1]:6.3f} {row[2]:6.3f} {row[3]:6.3f}  {row[4]}")
        engine.policy = base_p
        print("\nwith the defaults:")
        print(evaluate(questions, engine.answer).table())


if __name__ == "__main__":
    main()
