"""The shared build-once value behind the embedders, the reranker and the query batcher."""

from __future__ import annotations

import threading
import time

import pytest

from retrieval.embed.lazy import Lazy


def test_racing_threads_build_the_value_once():
    calls = []

    def make():
        calls.append(1)
        time.sleep(0.05)  # long enough for every thread to arrive while the first is building
        return object()

    lazy = Lazy(make)
    got = []
    threads = [threading.Thread(target=lambda: got.append(lazy())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(got) == 8 and all(g is got[0] for g in got)


def test_a_failed_build_is_tried_again():
    attempts = []

    def make():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("model folder missing")
        return "model"

    lazy = Lazy(make)
    with pytest.raises(RuntimeError, match="missing"):
        lazy()
    assert lazy() == "model" and lazy() == "model"
    assert len(attempts) == 2
