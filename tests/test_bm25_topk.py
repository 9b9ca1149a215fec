"""The pruned BM25 top k (``bm25_topk``, MaxScore) returns exactly the top k of exhaustive BM25 while
reading fewer postings: against bm25s on the shipped articles, against brute force on a generated
corpus whose common words fill most passages, through either way of finishing the search."""

from __future__ import annotations

import random

import numpy as np
import pytest

import retrieval.stores.bm25_topk as bm25_topk
from retrieval.stores.bm25 import Lexical
from retrieval.stores.rows import NpyRows
from retrieval.text.words import tokenize
from retrieval.ingest.articles import load_articles
from retrieval.split import make_passages
from tests.conftest import SEEDS
from tests.test_bm25_build import bm25s_reference


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [p.context_text for a in load_articles(SEEDS)[0] for p in make_passages(a)]


def best(scores: np.ndarray, k: int) -> tuple[list[int], np.ndarray]:
    """Exhaustive top ``k``: every row with a positive score, best first, ties to the lower row."""
    rows = np.flatnonzero(scores > 0)
    order = np.lexsort((rows, -scores[rows]))[:k]
    return rows[order].tolist(), scores[rows[order]]


def brute(lex: Lexical, ids: list[int]) -> np.ndarray:
    """Every passage's BM25, every posting list read whole (float64)."""
    scores = np.zeros(lex.size)
    for i in ids:
        entries = np.asarray(lex.postings[int(lex.postings_start[i]):int(lex.postings_start[i + 1])])
        scores[entries["id"]] += entries["score"]
    return scores


def zipf_texts(count: int, seed: int = 11) -> list[str]:
    """Passages of made-up words drawn by a Zipf law: the first words fill most passages (long lists),
    the tail occurs a few times; some passages repeat a word."""
    rng = np.random.default_rng(seed)
    letters = "bcdfghklmnprstvz"
    vocab = sorted({"".join(rng.choice(list(letters), 3)) + "a" + "".join(rng.choice(list(letters), 3)) + "o"
                    for _ in range(3000)})
    weights = 1 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    return [" ".join(rng.choice(vocab, int(rng.integers(3, 40)), p=weights)) for _ in range(count)]


@pytest.fixture(scope="module")
def zipf(tmp_path_factory) -> tuple[Lexical, list[str]]:
    texts = zipf_texts(6000)
    folder = tmp_path_factory.mktemp("zipf") / "lexical"
    Lexical.build(texts).save(folder)
    return Lexical.load(folder), texts  # the tables on disk, read by row as an index's are


def queries(lex: Lexical, texts: list[str], count: int, seed: int = 3) -> list[list[int]]:
    """Term ids of questions made of a passage's words plus common ones, some repeated."""
    rng = random.Random(seed)
    common = sorted(lex.terms, key=lambda t: -lex.df[t])[:30]
    out = []
    for _ in range(count):
        own = tokenize(rng.choice(texts))
        words = rng.sample(own, min(len(own), rng.randint(1, 4))) + rng.sample(common, rng.randint(0, 5))
        words += rng.sample(words, min(len(words), rng.randint(0, 2)))  # a word asked twice counts twice
        out.append(lex._ids(words))
    return out


@pytest.mark.parametrize("cost", [bm25_topk.POSTING_COST, 0.0, float("inf")],
                         ids=["as shipped", "every remaining list read", "survivors scored at once"])
def test_top_k_is_the_brute_force_top_k_and_skips_postings(zipf, monkeypatch, cost):
    lex, texts = zipf
    monkeypatch.setattr(bm25_topk, "POSTING_COST", cost)
    total = skipped = 0
    for ids in queries(lex, texts, 120):
        for k in (1, 10, 30):
            got = lex.top(ids, k)
            want_rows, want_scores = best(brute(lex, ids), k)
            assert got.rows.tolist() == want_rows, f"terms {ids}, k {k}"
            np.testing.assert_allclose(got.scores, want_scores, rtol=1e-5)
            held = int(sum(lex.postings_start[i + 1] - lex.postings_start[i] for i in set(ids)))
            total += held
            skipped += held - got.postings
    if cost == float("inf"):  # the essential lists alone: the common words' lists are mostly left unread
        assert skipped > 0.5 * total, f"MaxScore skipped only {skipped} of {total} postings"


def test_top_k_is_the_bm25s_top_k_on_the_shipped_articles(texts):
    terms, matrix, _ = bm25s_reference(texts)
    lex = Lexical.build(texts)
    rng = random.Random(7)
    words = sorted(terms)
    for n in range(150):
        tokens = rng.sample(words, rng.randint(1, 6))
        tokens += tokens[:1] if n % 3 == 0 else []
        weights = np.zeros(len(terms))
        for t in tokens:
            weights[terms[t]] += 1
        want_rows, want_scores = best(np.asarray(matrix @ weights, dtype=np.float64).ravel(), 10)
        got = lex.top(lex._ids(tokens), 10)
        assert got.rows.tolist() == want_rows, tokens
        np.testing.assert_allclose(got.scores, want_scores, rtol=1e-5)


def test_search_unions_the_top_k_with_the_rows_asked_for(zipf):
    lex, texts = zipf
    ids = queries(lex, texts, 1)[0]
    tokens = [t for t, i in lex.terms.items() for _ in range(ids.count(i))]
    rows, scores = lex.search(tokens, 5, also=np.array([3, 1, 3]))
    truth = brute(lex, lex._ids(tokens))
    assert rows.tolist() == sorted(set(best(truth, 5)[0]) | {1, 3})
    np.testing.assert_allclose(scores, truth[rows], rtol=1e-5)


def test_impacts_are_stored_at_build_and_computed_for_tables_without_them(zipf, tmp_path):
    lex, texts = zipf
    lex.save(tmp_path / "lexical")
    stored = np.load(tmp_path / "lexical" / "impacts.npy")
    for i in range(len(stored)):
        scores = np.asarray(lex.postings[int(lex.postings_start[i]):int(lex.postings_start[i + 1])])["score"]
        assert stored[i] == (scores.max() if len(scores) else 0)
    (tmp_path / "lexical" / "impacts.npy").unlink()  # an index built before impacts were stored
    np.testing.assert_array_equal(Lexical.load(tmp_path / "lexical").impacts, stored)


def test_row_ranges_are_the_slices_one_after_another(tmp_path):
    array = np.arange(50 * 2, dtype=np.int32).reshape(50, 2)
    np.save(tmp_path / "a.npy", array)
    rows = NpyRows(tmp_path / "a.npy")
    starts, stops = np.array([4, 7, 7, 30, 0, 49]), np.array([7, 9, 7, 31, 2, 50])  # touching, empty, unsorted
    want = np.concatenate([array[a:b] for a, b in zip(starts, stops)])
    np.testing.assert_array_equal(rows.ranges(starts, stops), want)
    assert rows.ranges([], []).shape == (0, 2)
    with pytest.raises(IndexError):
        rows.ranges([45], [51])
