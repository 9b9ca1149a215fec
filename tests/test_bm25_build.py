"""The streamed BM25 build (``bm25_build``) gives bm25s's tables: same terms, postings and passage -> terms
scores, whether the passages come in one batch or many and however small the chunks it holds."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import scipy.sparse

import retrieval.stores.bm25_build as bm25_build
from retrieval.ingest.articles import load_articles
from retrieval.split import make_passages
from retrieval.stores.bm25 import Lexical
from retrieval.stores.bm25_build import LexicalSpool
from retrieval.text.names import bm25_texts
from retrieval.text.words import _content_stems, _fold, _split
from tests.conftest import SEEDS


def bm25s_reference(texts: list[str]) -> tuple[dict[str, int], scipy.sparse.csr_matrix, dict[str, int]]:
    """(terms, passage x term BM25 matrix, word counts) as the build made them with bm25s before streaming."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    tokens, words = [], {}
    for t in texts:
        ws = _split(_fold(t))
        for w in ws:
            words[w] = words.get(w, 0) + 1
        tokens.append(_content_stems(ws) or ["<empty>"])
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    data, indices, indptr = (np.asarray(bm25.scores[k]) for k in ("data", "indices", "indptr"))
    matrix = scipy.sparse.csc_matrix((data, indices, indptr), shape=(len(tokens), len(indptr) - 1)).tocsr()
    terms = {t: int(i) for t, i in bm25.vocab_dict.items() if i < len(indptr) - 1}
    return terms, matrix, words


def as_matrices(lex: Lexical, order: dict[str, int]) -> tuple[scipy.sparse.csr_matrix, scipy.sparse.csr_matrix]:
    """The passage x term matrix of each of ``lex``'s tables, columns in ``order``'s term ids."""
    to_ref = np.empty(len(lex.terms), dtype=np.int64)
    for t, i in lex.terms.items():
        to_ref[i] = order[t]
    shape = (lex.size, len(order))
    f = np.array(lex.forward)
    forward = scipy.sparse.csr_matrix((f["score"].copy(), to_ref[f["id"]], np.array(lex.forward_start)), shape=shape)
    p = np.array(lex.postings)
    by_term = scipy.sparse.csc_matrix((p["score"].copy(), p["id"].copy(), np.array(lex.postings_start)), shape=(lex.size, len(lex.terms)))
    postings = by_term.tocsr()[:, np.argsort(to_ref)]
    return forward.tocsr(), postings.tocsr()


def generated_texts(count: int = 1500, seed: int = 5) -> list[str]:
    """Passages of shipped-article words in random order and lengths, with the cases a corpus has:
    no content word at all, one word many times, accents and digits."""
    rng = random.Random(seed)
    pool = [w for a in load_articles(SEEDS)[0] for b in a.blocks for w in b.text.split()]
    texts = [" ".join(rng.choices(pool, k=rng.randint(1, 120))) for _ in range(count)]
    texts[3], texts[10], texts[11] = "the of and", "", "Café crème Ürümqi 2024 2024 2024"
    texts[20] = "pipeline " * 40
    return texts


@pytest.fixture(scope="module")
def shipped_texts() -> list[str]:
    return list(bm25_texts([p for a in load_articles(SEEDS)[0] for p in make_passages(a)]))


def streamed(texts: list[str], batch: int, tmp_path) -> Lexical:
    spool = LexicalSpool(tmp_path / "spool")
    for i in range(0, len(texts), batch):
        spool.add(texts[i:i + batch])
    spool.write(tmp_path / "lexical")
    assert not (tmp_path / "spool").exists(), "the spool is removed once the tables are written"
    return Lexical.load(tmp_path / "lexical")


def assert_same_as_bm25s(lex: Lexical, texts: list[str]) -> None:
    terms, reference, words = bm25s_reference(texts)
    assert set(lex.terms) == set(terms) and lex.size == len(texts)
    assert lex.vocabulary == words
    forward, postings = as_matrices(lex, terms)
    for mine in (forward, postings):
        mine.sort_indices()
        assert np.array_equal(mine.indptr, reference.indptr) and np.array_equal(mine.indices, reference.indices)
        np.testing.assert_allclose(mine.data, reference.data, rtol=1e-6, atol=0)
    assert {t: lex.df[t] for t in terms} == dict(zip(terms, np.diff(reference.tocsc().indptr)[list(terms.values())]))
    p = np.asarray(lex.postings)
    for t in range(len(lex.terms)):  # each posting list's passages ascending, as bm25s's columns
        ids = p["id"][lex.postings_start[t]:lex.postings_start[t + 1]]
        assert np.all(np.diff(ids) > 0)


@pytest.mark.parametrize("batch", [10_000, 37])
def test_streamed_tables_of_the_shipped_articles_are_bm25s_tables(shipped_texts, batch, tmp_path):
    assert_same_as_bm25s(streamed(shipped_texts, batch, tmp_path), shipped_texts)


def test_streamed_tables_of_a_generated_corpus_held_in_small_chunks_are_bm25s_tables(tmp_path, monkeypatch):
    texts = generated_texts()
    # chunks and buckets far smaller than the corpus: many passes, terms cut at every boundary they can be
    monkeypatch.setattr(bm25_build, "CHUNK_ENTRIES", 997)
    monkeypatch.setattr(bm25_build, "BUCKET_ENTRIES", 1499)
    assert_same_as_bm25s(streamed(texts, 113, tmp_path), texts)


def test_scores_match_bm25s_bit_for_bit_on_the_shipped_articles(shipped_texts):
    lex = Lexical.build(shipped_texts)
    terms, reference, _ = bm25s_reference(shipped_texts)
    forward, _ = as_matrices(lex, terms)
    forward.sort_indices()
    assert np.array_equal(forward.data, reference.data), "same float32 arithmetic as bm25s"


def test_a_corpus_without_passages_gives_empty_tables(tmp_path):
    lex = streamed([], 10, tmp_path)
    assert lex.size == 0 and lex.terms == {} and lex.search(["anything"], 5)[0].tolist() == []


def test_engine_build_in_one_article_batches_writes_bm25s_tables(embedder, tmp_path, monkeypatch):
    """The product's build path (``Engine.build`` streaming batches through ``LocalWriter``)."""
    import retrieval.engine as engine_mod
    from retrieval.engine import Engine
    from tests.conftest import make_settings

    monkeypatch.setattr(engine_mod, "BUILD_BATCH_ARTICLES", 1)
    Engine(make_settings(SEEDS, tmp_path / "index"), embedder=embedder).build(progress=False)
    version = tmp_path / "index" / (tmp_path / "index" / "CURRENT").read_text().strip()
    texts = [t for a in load_articles(SEEDS)[0] for t in bm25_texts(make_passages(a))]
    assert_same_as_bm25s(Lexical.load(version / "lexical"), texts)
    assert not any(p.name.startswith(".lexical") or p.suffix == ".raw" for p in version.rglob("*")), \
        "no spool left in the published version"
