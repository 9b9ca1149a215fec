"""The contract every store behind ``stores/base.py`` keeps, run against each of them.

Builds are written from the shipped articles, split as the engine splits them and embedded
with the real default model; the figures checked (exact nearest neighbours, BM25) are
computed here independently, with numpy and with ``stores.bm25.Lexical`` (bm25s).

To add a store, add a factory to ``STORES``: ``factory(folder) -> Store``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from retrieval.ingest.articles import load_articles
from retrieval.split import make_passages
from retrieval.stores.base import Batch
from retrieval.stores.bm25 import Lexical
from retrieval.stores.milvus import MilvusStore
from retrieval.text.names import bm25_texts
from retrieval.text.words import tokenize
from retrieval.types import Passage
from tests.conftest import SEEDS, make_settings


def milvus_lite(folder: Path):
    """Milvus Lite in a ``.db`` inside ``folder`` (embedded in this process)."""
    return MilvusStore(make_settings(SEEDS, folder, store="milvus"))


def local(folder: Path):
    """The local FAISS + BM25 folders."""
    from retrieval.stores.local import LocalStore

    return LocalStore(folder, "auto", 50_000)


STORES = {"milvus-lite": milvus_lite, "local": local}


@dataclass(frozen=True)
class Corpus:
    """Passages of the shipped articles with their vectors, ready to write as batches."""

    passages: tuple[Passage, ...]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    keys: np.ndarray          # passages' hashes, then sentences'
    lexical_texts: tuple[str, ...]
    model: str

    def sentence_start(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([len(p.sentences) for p in self.passages])])

    def batches(self, rows: range | None = None, size: int = 7) -> list[Batch]:
        """Consecutive batches of ``size`` passages (several per build: writers must stream)."""
        rows = rows if rows is not None else range(len(self.passages))
        starts, n = self.sentence_start(), len(self.passages)
        out = []
        for lo in range(rows.start, rows.stop, size):
            hi = min(lo + size, rows.stop)
            s_lo, s_hi = int(starts[lo]), int(starts[hi])
            keys = np.concatenate([self.keys[lo:hi], self.keys[n + s_lo:n + s_hi]])
            out.append(Batch(self.passages[lo:hi], self.passage_vectors[lo:hi], self.sentence_vectors[s_lo:s_hi],
                             keys, self.lexical_texts[lo:hi]))
        return out

    def manifest(self, rows: range | None = None) -> dict:
        return {"model": self.model, "embedding": "test", "dim": int(self.passage_vectors.shape[1]),
                "sources": [], "passages_written": len(rows if rows is not None else self.passages)}


@pytest.fixture(scope="module")
def corpus(embedder) -> Corpus:
    settings = make_settings(SEEDS, Path("/nonexistent"))
    articles, _ = load_articles(SEEDS, progress=False)
    passages = tuple(p for a in articles for p in make_passages(a, settings.passage_min_words,
                                                                settings.passage_max_words))
    texts = [p.context_text for p in passages] + [s.text for p in passages for s in p.sentences]
    vectors = embedder.encode(texts, progress=False)
    keys = np.array([hashlib.sha1(t.encode()).digest() for t in texts], dtype="S20")
    n = len(passages)
    return Corpus(passages, vectors[:n], vectors[n:], keys, tuple(bm25_texts(list(passages), False)), settings.model)


def write(store, corpus: Corpus, rows: range | None = None) -> str:
    writer = store.writer(corpus.passage_vectors.shape[1], len(rows if rows is not None else corpus.passages))
    for batch in corpus.batches(rows):
        writer.add(batch)
    return writer.publish(corpus.manifest(rows))


@pytest.fixture(scope="module", params=sorted(STORES))
def built(request, corpus, tmp_path_factory):
    """(store, snapshot) of the whole corpus, written once per store for the read-only checks."""
    store = STORES[request.param](tmp_path_factory.mktemp(request.param))
    write(store, corpus)
    return store, store.open(corpus.model)


@pytest.fixture(params=sorted(STORES))
def fresh_store(request, tmp_path):
    return STORES[request.param](tmp_path / "store")


def test_dense_top_k_is_the_exact_inner_product_top_k(built, corpus):
    _, snap = built
    exact = corpus.passage_vectors
    for query in corpus.sentence_vectors[::17]:  # sentences as questions: near their own passage, not equal
        want = np.argsort(-(exact @ query), kind="stable")[:10]
        assert list(snap.dense(query, 10)) == list(want)


def test_lexical_scores_are_the_bm25s_lucene_scores_and_a_rare_word_ranks_its_row_first(built, corpus):
    _, snap = built
    reference = Lexical.build(list(corpus.lexical_texts))
    rare = [t for t, df in reference.df.items() if df == 1 and t.isalpha() and len(t) > 5][:5]
    assert rare, "the shipped articles have words used in one passage only"
    for word in rare:
        tokens = [word, "kazakhstan", "china"]
        rows, scores = snap.lexical(tokens, 10)
        own = next(i for i, t in enumerate(corpus.lexical_texts) if word in tokenize(t))
        assert rows[np.argmax(scores)] == own
        assert np.allclose(scores, reference.score_rows(tokens, rows), rtol=1e-4, atol=1e-5)
        _, want = reference.search(tokens, 10)  # the same best scores (rows tied at the 10th may differ)
        assert np.allclose(np.sort(scores), np.sort(want), rtol=1e-4, atol=1e-5)


def test_lexical_adds_the_rows_asked_for_and_bm25_scores_rows_without_the_words_zero(built, corpus):
    _, snap = built
    tokens = tokenize("diplomatic relations established")
    rows, scores = snap.lexical(tokens, 3, also=np.array([0, 1, 2]))
    assert {0, 1, 2} <= set(rows) and list(rows) == sorted(set(rows))
    assert np.allclose(snap.bm25(tokens, rows), scores)
    none = snap.bm25(["zzzunknownzzz"], np.arange(len(snap)))
    assert not none.any() and snap.lexical(["zzzunknownzzz"], 5)[0].size == 0


def test_candidates_are_the_dense_and_the_bm25_top_k_with_their_bm25_scores(built, corpus):
    """The one call the ranking makes: the exact inner-product top k together with the BM25 top k,
    scored as bm25s scores them; the same rows and scores as the two separate searches."""
    _, snap = built
    reference = Lexical.build(list(corpus.lexical_texts))
    exact = corpus.passage_vectors
    sentences = [s.text for p in corpus.passages for s in p.sentences]
    for i in range(0, len(sentences), 23):  # a sentence as the question, its vector as the question's
        tokens, query = tokenize(sentences[i]), corpus.sentence_vectors[i]
        rows, scores = snap.candidates(tokens, query, 10)
        assert list(rows) == sorted(set(rows))
        assert set(np.argsort(-(exact @ query), kind="stable")[:10].tolist()) <= set(rows.tolist())
        assert np.allclose(scores, reference.score_rows(tokens, rows), rtol=1e-4, atol=1e-5)
        best, _ = reference.search(tokens, 10)  # its 10 best BM25 rows are there (ties at the 10th aside)
        tenth = np.sort(reference.score_rows(tokens, best))[-min(10, len(best))] if len(best) else 0
        assert set(best[reference.score_rows(tokens, best) > tenth + 1e-5].tolist()) <= set(rows.tolist())
        apart, apart_scores = snap.lexical(tokens, 10, also=snap.dense(query, 10))
        assert list(rows) == list(apart) and np.allclose(scores, apart_scores)
    rows, scores = snap.candidates(["zzzunknownzzz"], exact[4], 5)  # no known word: the dense rows alone
    assert 4 in rows and len(rows) == 5 and not scores.any()


def test_term_statistics_match_the_texts(built, corpus):
    _, snap = built
    reference = Lexical.build(list(corpus.lexical_texts))
    assert len(snap) == len(corpus.passages)
    for token in ["kazakhstan", "1992", "zzzunknownzzz"]:
        assert snap.knows(token) == (token in reference.df)
        assert snap.idf(token) == pytest.approx(reference.idf(token))
    assert snap.vocabulary() == reference.vocabulary


def test_passages_and_vectors_round_trip(built, corpus):
    _, snap = built
    rows = np.array([5, 0, len(corpus.passages) - 1, 5])
    assert snap.passages(rows) == [corpus.passages[r] for r in rows]
    assert np.allclose(snap.passage_vectors(rows), corpus.passage_vectors[rows], atol=1e-6)
    start = corpus.sentence_start()
    for got, r in zip(snap.sentence_vectors(rows), rows):
        want = corpus.sentence_vectors[start[r]:start[r + 1]]
        assert got.shape == want.shape and np.allclose(got, want, atol=2e-3)  # float16 is allowed


def test_reusable_finds_every_vector_by_its_content_hash_and_nothing_else(built, corpus):
    _, snap = built
    strangers = np.array([hashlib.sha1(b"never embedded").digest()], dtype="S20")
    keys = np.concatenate([corpus.keys[::5], strangers])
    mask, vectors = snap.reusable(keys)
    assert mask[:-1].all() and not mask[-1]
    every = np.concatenate([corpus.passage_vectors, corpus.sentence_vectors])
    assert np.allclose(vectors, every[::5], atol=2e-3)


def test_manifest_says_what_was_published(built, corpus):
    store, snap = built
    assert store.current() == snap.version
    assert snap.manifest["model"] == corpus.model and snap.manifest["dim"] == corpus.passage_vectors.shape[1]


def test_a_reader_keeps_its_snapshot_while_a_new_build_is_published(fresh_store, corpus):
    first = write(fresh_store, corpus)
    before = fresh_store.open(corpus.model)
    half = range(0, len(corpus.passages) // 2)
    second = write(fresh_store, corpus, half)
    assert second != first and fresh_store.current() == second
    assert len(before) == len(corpus.passages) and before.version == first
    assert before.passages(np.array([len(corpus.passages) - 1])) == [corpus.passages[-1]]
    assert len(fresh_store.open(corpus.model)) == len(half)


def test_an_aborted_build_leaves_the_live_build_as_it_was(fresh_store, corpus):
    live = write(fresh_store, corpus, range(0, 10))
    writer = fresh_store.writer(corpus.passage_vectors.shape[1], len(corpus.passages))
    for batch in corpus.batches()[:2]:
        writer.add(batch)
    writer.abort()
    assert fresh_store.current() == live
    snap = fresh_store.open(corpus.model)
    assert len(snap) == 10 and snap.passages(np.arange(10)) == list(corpus.passages[:10])


def test_readers_in_threads_see_whole_builds_while_the_alias_moves(fresh_store, corpus):
    """Readers open the live build over and over while another build is published under them."""
    sizes = {len(corpus.passages), 12}
    first = write(fresh_store, corpus)
    done, switched, errors = threading.Event(), threading.Event(), []
    seen: set[str] = set()
    target: list[str] = []

    def read():
        while not done.is_set():
            try:
                snap = fresh_store.open(corpus.model)
                n = len(snap)
                assert n in sizes
                assert snap.passages(np.array([n - 1])) == [corpus.passages[n - 1]]
                assert snap.dense(corpus.passage_vectors[n - 1], 1)[0] == n - 1
                seen.add(snap.version)
                if target and snap.version == target[0]:
                    switched.set()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                switched.set()
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    target.append(write(fresh_store, corpus, range(0, 12)))
    assert switched.wait(60)
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors
    assert fresh_store.current() == target[0] and {first, target[0]} <= seen
