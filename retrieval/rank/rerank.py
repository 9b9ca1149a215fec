"""Optional cross-encoder reranking of the first candidates (off unless configured).

No cross-encoder ships with the project; set ``BOT_RERANKER_MODEL`` to a local
folder or hub name of a sentence-transformers ``CrossEncoder`` to turn it on.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from retrieval.embed.models import load_sentence_transformers
from retrieval.embed.lazy import Lazy
from retrieval.rank.search import Evidence


class Reranker:
    """Re-orders the top ``depth`` passages by a cross-encoder's (question, passage) score."""

    def __init__(self, model: str, depth: int = 10):
        if not model:
            raise ValueError("reranker model must be a path or a hub name, got an empty string")
        self.name = model
        self.depth = depth
        self._model = Lazy(lambda: load_sentence_transformers(
            "CrossEncoder", model, "reranker", "Fix BOT_RERANKER_MODEL or leave it empty."))

    def warm_up(self) -> None:
        self._model()

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        model = self._model()
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(model.predict([(question, t) for t in texts], show_progress_bar=False),
                          dtype=np.float32).reshape(len(texts), -1)[:, -1]

    def rerank(self, ev: Evidence) -> Evidence:
        head, tail = ev.ranked[: self.depth], ev.ranked[self.depth:]
        if len(head) < 2:
            return ev
        s = self.scores(ev.question, [r.passage.text for r in head])
        order = np.argsort(-s, kind="stable")
        return replace(ev, ranked=tuple(head[i] for i in order) + tail)
