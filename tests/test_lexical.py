"""BM25 tables and the row reader they sit on: saved tables score as built ones, searches score exactly."""

from __future__ import annotations

import numpy as np
import pytest

import retrieval.text.words as words
from retrieval.ingest.articles import load_articles
from retrieval.stores.bm25 import Lexical
from retrieval.text.words import tokenize
from retrieval.split import make_passages
from retrieval.stores.rows import NpyRows
from tests.conftest import SEEDS

QUESTIONS = ["when were diplomatic relations established between China and Kazakhstan?",
             "how many students study abroad", "belt and road cooperation projects", "zzzz qqqq"]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    articles = load_articles(SEEDS)[0]
    return [p.context_text for a in articles for p in make_passages(a)]


def brute_bm25(lex: Lexical, tokens: list[str]) -> np.ndarray:
    """Every passage's BM25 from the term -> passages table, read whole."""
    scores = np.zeros(lex.size, dtype=np.float64)
    for t in tokens:
        if t in lex.terms:
            i = lex.terms[t]
            entries = np.asarray(lex.postings[int(lex.postings_start[i]):int(lex.postings_start[i + 1])])
            scores[entries["id"]] += entries["score"]
    return scores


def test_saved_tables_give_the_scores_of_the_built_ones(texts, tmp_path):
    built = Lexical.build(texts)
    built.save(tmp_path / "lexical")
    loaded = Lexical.load(tmp_path / "lexical")
    assert isinstance(loaded.postings, NpyRows) and loaded.size == len(texts)
    for q in QUESTIONS:
        tokens = tokenize(q)
        rows_a, scores_a = built.search(tokens, 5)
        rows_b, scores_b = loaded.search(tokens, 5)
        assert rows_a.tolist() == rows_b.tolist()
        np.testing.assert_allclose(scores_a, scores_b, rtol=1e-6)


def test_search_returns_the_best_rows_plus_the_given_ones_with_exact_scores(texts):
    lex = Lexical.build(texts)
    tokens = tokenize(QUESTIONS[0]) + ["diplomat"]  # a repeated stem counts twice
    truth = brute_bm25(lex, tokens)
    rows, scores = lex.search(tokens, 3, also=np.array([0, 1]))
    best3 = set(np.argsort(-truth)[:3].tolist())
    assert best3 <= set(rows.tolist()) and {0, 1} <= set(rows.tolist())
    assert rows.tolist() == sorted(set(rows.tolist()))
    np.testing.assert_allclose(scores, truth[rows], rtol=1e-5)


def test_row_reader_reads_rows_in_the_order_asked(tmp_path):
    array = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    np.save(tmp_path / "a.npy", array)
    rows = NpyRows(tmp_path / "a.npy")
    assert len(rows) == 40 and rows.shape == (40, 3) and rows.dtype == np.float32
    for key in ([7, 3, 7, 8, 9, 0, 39], np.array([-1, 2]), slice(5, 9), slice(None, None, 3), 12, -2):
        np.testing.assert_array_equal(rows[key], array[key])
    np.testing.assert_array_equal(np.asarray(rows), array)
    assert rows[[]].shape == (0, 3)
    with pytest.raises(IndexError):
        rows[[40]]
    with pytest.raises(IndexError):
        rows[40]


def test_row_reader_reports_a_file_shorter_than_its_header(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((100, 4), dtype=np.float32))
    rows = NpyRows(tmp_path / "a.npy")
    with open(tmp_path / "a.npy", "r+b") as fh:
        fh.truncate(200)
    with pytest.raises(OSError, match="shorter"):
        rows[90]


def test_common_stems_are_the_commonest_english_words_only():
    assert {"call", "els", "run"} <= words.common_stems("What was it called, who else will run it?")
    assert not words.common_stems("currency referendum pipeline Uzbekistan") & {"currenc", "referendum", "pipelin"}
