"""BM25 candidates on a Milvus build spread over several segments. Milvus Lite scores BM25 per
segment, each with its own statistics, so its own top k is not the build's; the store asks for more
rows and keeps the best k by the build's statistics (``MilvusSnapshot._wide``). A real build in
Milvus Lite from the shipped articles, flushed every 7 passages; the reference is bm25s."""

from __future__ import annotations

import numpy as np

import retrieval.stores.milvus as milvus
from retrieval.stores.bm25 import Lexical
from retrieval.text.words import tokenize
from tests.conftest import SEEDS, make_settings
from tests.test_store_contract import corpus, write  # noqa: F401 - the shared corpus fixture


def test_bm25_candidates_over_several_segments_hold_more_of_the_builds_top_k_than_milvus_own(
        corpus, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(milvus, "FLUSH_ROWS", 7)  # a segment every 7 passages
    store = milvus.MilvusStore(make_settings(SEEDS, tmp_path, store="milvus"))
    write(store, corpus)
    snap = store.open(corpus.model)
    reference = Lexical.build(list(corpus.lexical_texts))
    k, missed_by_milvus, missed_by_store = 3, 0, 0
    for sentence in (s.text for p in corpus.passages for s in p.sentences):
        tokens = tokenize(sentence)
        known = [t for t in tokens if t in snap.df]
        if not known:
            continue
        rows, _ = reference.search(tokens, k)
        scores = reference.score_rows(tokens, rows)
        want = set(rows[scores > np.sort(scores)[-k] + 1e-5].tolist()) if len(rows) >= k else set(rows.tolist())
        hits = store.call("search", snap.version, data=[" ".join(known)], anns_field="sparse", limit=k,
                          search_params={"metric_type": "BM25"}, output_fields=["row"])
        missed_by_milvus += not want <= {h["row"] for h in hits[0]}
        got, got_scores = snap.lexical(tokens, k)
        missed_by_store += not want <= set(got.tolist())
        assert np.allclose(got_scores, reference.score_rows(tokens, got), rtol=1e-4, atol=1e-5)
    assert missed_by_milvus > 0, "the segments' own statistics should disagree with the build's somewhere"
    assert missed_by_store < missed_by_milvus / 2
