"""BOT_MILVUS_INDEX: a Milvus build can use an approximate dense index (HNSW, IVF_FLAT) instead of
FLAT; the build records which, the reader searches it with that index's parameters, and on the
shipped articles (real model vectors, in Milvus Lite) it finds the exact top 10."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.settings import Settings, SettingsError
from retrieval.stores.milvus import MilvusStore
from tests.conftest import SEEDS, make_settings
from tests.test_store_contract import corpus, write  # noqa: F401 - the shared corpus fixture


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_an_approximate_dense_index_is_recorded_and_finds_the_exact_top_10(kind, corpus, tmp_path):  # noqa: F811
    store = MilvusStore(make_settings(SEEDS, tmp_path, store="milvus", milvus_index=kind))
    write(store, corpus)
    snap = store.open(corpus.model)
    assert snap.manifest["dense_index"] == kind
    exact = corpus.passage_vectors
    for query in corpus.sentence_vectors[::17]:
        want = np.argsort(-(exact @ query), kind="stable")[:10]
        assert set(snap.dense(query, 10).tolist()) == set(want.tolist())


def settings(**env: str) -> Settings:
    return Settings.from_env(environ=env, dotenv=Path("/nonexistent"))


def test_bot_milvus_index_and_cache_rows_name_the_bad_value():
    assert settings(BOT_MILVUS_INDEX=" HNSW ").milvus_index == "hnsw"
    assert settings().milvus_index == "flat"
    with pytest.raises(SettingsError, match="BOT_MILVUS_INDEX.*'diskann'"):
        settings(BOT_MILVUS_INDEX="diskann")
    with pytest.raises(SettingsError, match="BOT_MILVUS_CACHE_ROWS.*-1"):
        settings(BOT_MILVUS_CACHE_ROWS="-1")
