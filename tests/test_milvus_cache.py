"""The Milvus snapshot's row cache (``stores.row_cache``): what it serves is what the store holds,
it saves the round trips it is there for, it stays within its bound, and a new build never gets
the old build's rows. Real builds in Milvus Lite, from the shipped articles (``test_store_contract``'s
corpus: split as the engine splits, embedded with the real model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.engine import Engine
from retrieval.stores.milvus import MilvusStore, count_calls
from retrieval.stores.row_cache import RowCache
from tests.conftest import SEEDS, make_settings
from tests.test_store_contract import corpus, write  # noqa: F401 - the shared corpus fixture


def store_at(folder: Path, cache_rows: int) -> MilvusStore:
    return MilvusStore(make_settings(SEEDS, folder, store="milvus", milvus_cache_rows=cache_rows))


def read_all(snap, rows: np.ndarray):
    return snap.passages(rows), snap.passage_vectors(rows), snap.sentence_vectors(rows)


@pytest.fixture(scope="module")
def milvus_build(corpus, tmp_path_factory):  # noqa: F811
    folder = tmp_path_factory.mktemp("milvus-cache")
    write(store_at(folder, 10_000), corpus)
    return folder


def test_cached_rows_equal_the_stores_rows_and_a_second_read_makes_no_call(milvus_build, corpus):  # noqa: F811
    store = store_at(milvus_build, 10_000)
    snap = store.open(corpus.model)
    calls = count_calls(store)
    rows = np.arange(len(corpus.passages))[::-1]
    first = read_all(snap, rows)
    assert calls["get"] == 2  # one for passages + vectors + stems, one for the sentence vectors (by key)
    again = read_all(snap, rows)
    assert calls["get"] == 2 and sorted(snap.records.rows()) == sorted(rows.tolist())
    # the same as a snapshot that keeps nothing, reading Milvus every time, and as what was written
    uncached = store_at(milvus_build, 0).open(corpus.model)
    plain = read_all(uncached, rows)
    assert len(uncached.records) == 0
    for got in (first, again):
        assert got[0] == plain[0] == [corpus.passages[r] for r in rows]
        assert np.array_equal(got[1], plain[1]) and np.allclose(got[1], corpus.passage_vectors[rows], atol=1e-6)
        assert all(np.array_equal(a, b) for a, b in zip(got[2], plain[2]))
    assert np.array_equal(snap.bm25(["kazakhstan", "china"], rows), uncached.bm25(["kazakhstan", "china"], rows))


def test_the_cache_keeps_at_most_its_bound_and_still_answers_every_row(milvus_build, corpus):  # noqa: F811
    snap = store_at(milvus_build, 5).open(corpus.model)
    rows = np.arange(len(corpus.passages))
    assert snap.passages(rows) == list(corpus.passages)
    assert len(snap.records) == 5 and snap.records.rows() == rows[-5:].tolist()  # the most recent stay
    assert snap.passages(rows[:3]) == list(corpus.passages[:3])
    assert len(snap.records) == 5 and snap.records.rows()[-3:] == [0, 1, 2]


def test_a_new_build_is_not_served_from_the_old_builds_cache(corpus, tmp_path):  # noqa: F811
    store = store_at(tmp_path, 10_000)
    write(store, corpus)
    old = store.open(corpus.model)
    rows = np.arange(10)
    assert old.passages(rows) == list(corpus.passages[:10])  # now cached
    write(store, corpus, range(10, 20))  # row 0 of the new build is passage 10
    new = store.open(corpus.model)
    assert new.version != old.version and len(new.records) == 0
    assert new.passages(rows) == list(corpus.passages[10:20])
    assert np.allclose(new.passage_vectors(rows), corpus.passage_vectors[10:20], atol=1e-6)
    assert old.passages(rows) == list(corpus.passages[:10])  # a reader still on the old build keeps its rows


def test_an_engine_that_reloads_answers_from_the_edited_article_not_its_cached_passages(tmp_path, embedder):
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    settings = make_settings(folder, tmp_path / "index", store="milvus")
    reader = Engine(settings, embedder=embedder)
    reader.build(progress=False)
    question = "when was diplomatic relations established?"
    before = reader.answer(question)
    assert "1992" in before.answer_sentence
    article = folder / before.passages[0].passage.file
    article.write_text(article.read_text(encoding="utf-8").replace("1992", "1993"), encoding="utf-8")
    Engine(settings, embedder=embedder).build(progress=False)  # another engine publishes the edit
    assert reader.answer(question).answer_sentence == before.answer_sentence  # still on its snapshot
    assert reader.reload_if_changed()
    after = reader.answer(question)
    assert "1993" in after.answer_sentence and "1992" not in after.answer_sentence


def test_a_warm_answer_takes_its_candidates_from_one_hybrid_search_and_nothing_else(tmp_path, embedder):
    """Dense and BM25 candidates in one round trip; every row the ranking then reads is cached."""
    engine = Engine(make_settings(SEEDS, tmp_path / "index", store="milvus"), embedder=embedder)
    engine.build(progress=False)
    question = "when was diplomatic relations established?"
    first = engine.answer(question)
    calls = count_calls(engine.store)
    again = engine.answer(question)
    assert dict(calls) == {"hybrid_search": 1}
    assert again.answer_sentence == first.answer_sentence and "1992" in again.answer_sentence


def test_row_cache_evicts_the_least_recently_used_row_and_zero_keeps_nothing():
    cache: RowCache[str] = RowCache(2)
    cache.put_many({1: "a", 2: "b"})
    assert cache.get_many([1]) == ({1: "a"}, [])  # 1 is now the most recent
    cache.put_many({3: "c"})
    assert cache.get_many([3, 2, 1, 3]) == ({3: "c", 1: "a"}, [2])
    none: RowCache[str] = RowCache(0)
    none.put_many({1: "a"})
    assert len(none) == 0 and none.get_many([1]) == ({}, [1])
    with pytest.raises(ValueError, match="-1"):
        RowCache(-1)
