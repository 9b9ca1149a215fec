"""The FAISS index kinds: each builds, survives a save and load, and finds its own vectors."""

from __future__ import annotations

import numpy as np
import pytest

import retrieval.stores.vector_index as vector_index


def _unit_vectors(n: int, d: int = 64) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_every_index_kind_builds_saves_loads_and_finds_its_vectors(tmp_path, kind):
    import faiss

    x = _unit_vectors(3000)
    spec = vector_index.choose(kind, len(x))
    index = vector_index.build(x, spec)
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    del index
    loaded = faiss.read_index(str(tmp_path / "v.faiss"))
    vector_index.tune(loaded, spec)
    _, rows = loaded.search(x[:50], 1)
    assert loaded.ntotal == len(x)
    assert (rows[:, 0] == np.arange(50)).mean() >= 0.95


def test_auto_is_exact_below_the_threshold_and_approximate_above():
    assert vector_index.choose("auto", 199_999, 200_000).kind == "flat"
    big = vector_index.choose("auto", 1_000_000, 200_000)
    assert big.kind == "ivf" and 0 < big.nprobe <= big.nlist
