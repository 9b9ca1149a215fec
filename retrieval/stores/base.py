"""The store seam: what the engine needs from wherever passages, vectors and BM25 live.

A build streams ``Batch``es into a ``Writer`` and publishes them in one atomic step; a reader
``open``s the live build as a ``Snapshot`` and answers every question from that one snapshot.
Rows are the passages' positions in their build (0 .. len - 1), consecutive per article in the
order of ``Snapshot.sources``.

Two stores stand behind it: ``stores.local`` (FAISS + BM25 arrays in versioned folders) and
``stores.milvus`` (Milvus Lite, or a Milvus server, with an alias switch). Both pass
``tests/test_store_contract.py``.

>>> store = make_store(settings)
>>> writer = store.writer({"model": ..., "dim": 384, ...})
>>> writer.add(Batch(passages, passage_vectors, sentence_vectors, keys, lexical_texts))
>>> writer.publish()
>>> snap = store.open(settings.model)
>>> rows, bm25 = snap.candidates(question_tokens, question_vector, 30)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from retrieval.types import Passage, Source


@dataclass(frozen=True)
class Batch:
    """Passages of whole articles, with their vectors, as a build writes them.

    ``keys`` holds the content hash of every vector: the batch's passages first, then their
    sentences in passage order (``sentence_vectors`` has one row per sentence, in that order).
    ``lexical_texts`` is the text BM25 indexes for each passage (headline, passage, completed names).
    """

    passages: tuple[Passage, ...]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    keys: np.ndarray
    lexical_texts: tuple[str, ...]


@runtime_checkable
class Snapshot(Protocol):
    """One published build, read-only and safe to share between threads."""

    version: str        # names the build; changes when another build is published
    manifest: dict      # model, embedding, dim, corpus fingerprint, skipped files, sources
    sources: list[Source]

    def __len__(self) -> int: ...

    def dense(self, vector: np.ndarray, k: int) -> np.ndarray:
        """Rows of the ``k`` passages nearest to ``vector`` (inner product)."""

    def lexical(self, tokens: list[str], k: int, also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best BM25 rows for ``tokens`` together with the rows in ``also`` (sorted, unique),
        and each one's BM25 score."""

    def candidates(self, tokens: list[str], vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The candidate rows for one question: the ``k`` nearest to ``vector`` together with the ``k``
        best BM25 rows for ``tokens`` (sorted, unique), and each one's BM25 score. The same rows as
        ``lexical(tokens, k, also=dense(vector, k))``; a store may fetch them in one round trip."""

    def bm25(self, tokens: list[str], rows: np.ndarray) -> np.ndarray:
        """BM25 of the given rows for ``tokens``."""

    def idf(self, token: str) -> float:
        """Rarity of a token in this build; one it never uses counts as the rarest."""

    def knows(self, token: str) -> bool:
        """Does any passage use ``token``?"""

    def vocabulary(self) -> dict[str, int]:
        """Every word of the build (folded, unstemmed) with its count: the question speller's dictionary."""

    def passages(self, rows: np.ndarray) -> list[Passage]:
        """The passages at ``rows``."""

    def passage_vectors(self, rows: np.ndarray) -> np.ndarray:
        """Exact passage vectors of ``rows`` (float32, one row each)."""

    def sentence_vectors(self, rows: np.ndarray) -> list[np.ndarray]:
        """For each of ``rows``, the vectors of its passage's sentences in order (float32)."""

    def reusable(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For content hashes ``keys``: which this build has a vector for (bool mask), and those vectors."""


class Writer(Protocol):
    """A build being written; nothing of it is visible to readers until ``publish``."""

    def add(self, batch: Batch) -> None:
        """Append passages (whole articles) and their vectors."""

    def publish(self, manifest: dict) -> str:
        """Make the build live in one step and return its version; then remove superseded builds."""

    def abort(self) -> None:
        """Drop what was written; the live build stays as it was."""


class Store(Protocol):
    """Where builds are written, published and read."""

    def current(self) -> str | None:
        """Version of the live build, or None when there is none (cheap: polled by running bots)."""

    def open(self, model: str) -> Snapshot:
        """The live build, verified; raises an ``IndexProblem`` that says what to run."""

    def writer(self, dim: int, total: int) -> Writer:
        """Start a build of about ``total`` passages of dimension ``dim``."""
