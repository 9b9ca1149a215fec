"""Concurrent questions share model calls, and each gets its own vector back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.embed.batching import MicroBatcher


def test_concurrent_callers_are_batched_and_get_their_own_vectors():
    started, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def encode(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            started.set()
            release.wait(5)  # hold the first batch so the others queue up behind it
        return np.array([[float(len(t))] for t in texts])

    batcher = MicroBatcher(encode)
    texts = [f"q{'x' * i}" for i in range(20)]
    with ThreadPoolExecutor(20) as pool:
        first = pool.submit(batcher.encode_one, texts[0])
        assert started.wait(5)
        rest = [pool.submit(batcher.encode_one, t) for t in texts[1:]]
        release.set()
        results = [first.result(5)] + [f.result(5) for f in rest]
    assert [r[0] for r in results] == [float(len(t)) for t in texts]
    assert len(calls) < len(texts), "queued questions were encoded together"


def test_encoder_failure_reaches_the_caller_and_the_worker_survives():
    state = {"fail": True}

    def encode(texts):
        if state["fail"]:
            raise RuntimeError("model exploded")
        return np.ones((len(texts), 2))

    batcher = MicroBatcher(encode)
    with pytest.raises(RuntimeError, match="exploded"):
        batcher.encode_one("a")
    state["fail"] = False
    assert batcher.encode_one("b").tolist() == [1.0, 1.0]


def test_a_question_gets_the_same_answer_alone_and_among_other_users_questions(engine):
    # the real engine and int8 model: concurrent questions are encoded together, and each must
    # still get exactly the scores it gets when asked alone
    questions = ["when were diplomatic relations established?", "which currency do they use in kazakhstan?",
                 "who edited the anniversary article?", "How many people attended the roundtable?",
                 "what did Wang Yi say about trade?", "hello there, how far is the moon?"] * 3
    alone = {q: engine.evidence(q) for q in set(questions)}
    with ThreadPoolExecutor(len(questions)) as pool:
        crowded = list(pool.map(engine.evidence, questions))
    assert engine._queries.batches > 0
    for q, ev in zip(questions, crowded):
        assert [(r.row, r.score) for r in ev.ranked] == [(r.row, r.score) for r in alone[q].ranked], q
