"""BM25 over passages (scores from bm25s), saved beside the vectors as arrays + JSON.

One tokeniser serves indexing and querying, so stemming and stop words match.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from bm25s.stopwords import STOPWORDS_EN_PLUS

from .progress import stage
from .rows import NpyRows

# question phrasing that carries no topic
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {
    "according", "per", "please", "tell", "know", "say", "said", "says", "would", "could", "also",
    "whats", "what's", "much", "many", "kind", "sort", "thing", "things", "ever", "actually",
}
_WORD = re.compile(r"[a-z0-9]+")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower case, curly quotes straightened, accents removed: the form all matching uses."""
    return _fold(text)


def _fold(text: str) -> str:
    # ASCII text has nothing to straighten or decompose: skip the per-character passes
    # (they were most of a build's BM25 time)
    if text.isascii():
        return text.lower()
    text = text.translate(_FOLD)
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return None


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    st = _stemmer()
    return st.stemWord(word) if st else word


def words(text: str) -> list[str]:
    return _split(fold(text))


def _split(folded: str) -> list[str]:
    return _WORD.findall(folded.replace("'s ", " "))


def tokenize(text: str) -> list[str]:
    """Content-word stems of ``text``."""
    return _content_stems(words(text))


def _content_stems(ws: list[str]) -> list[str]:
    return [_stem(w) for w in ws if w not in STOPWORDS and len(w) > 1 or w.isdigit()]


# Zipf 5.3 (wordfreq's scale: 200 uses per million words) takes in the ~1,500 commonest English words
COMMON_ZIPF = 5.3


def common_stems(text: str) -> frozenset[str]:
    """Stems of the words of ``text`` that are among the commonest in English.

    Whether the articles lack a question word is evidence about the topic only for rarer
    words: lacking "currency" or "referendum" says the question is about something else,
    lacking "called", "else" or "run" says only that a few articles did not use them.
    """
    from wordfreq import zipf_frequency

    return frozenset(_stem(w) for w in words(text) if zipf_frequency(w, "en") >= COMMON_ZIPF)


# British spellings folded to the American ones the news wires use, and back
_SPELLING = [("our", "or"), ("ise", "ize"), ("ised", "ized"), ("ising", "izing"), ("isation", "ization"),
             ("yse", "yze"), ("tre", "ter"), ("ogue", "og"), ("lled", "led"), ("lling", "ling")]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def edit_rank(typo: str, candidate: str) -> int:
    """How likely ``candidate`` is the word meant by ``typo``, by the kind of edit between them (lower first).

    A dropped letter or two swapped neighbours are the commonest slips; a letter struck for
    another is rarer. Frequency alone chose "with" for "wich" (one letter changed) over
    "which" (one letter left out), and the question lost its "which ..." form.

    >>> edit_rank("wich", "which"), edit_rank("wich", "with")
    (0, 2)
    """
    if len(candidate) == len(typo) + 1:
        return 0                      # the typist left a letter out
    if len(candidate) == len(typo):
        diff = [i for i, (a, b) in enumerate(zip(typo, candidate)) if a != b]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and typo[diff[0]] == candidate[diff[1]] \
                and typo[diff[1]] == candidate[diff[0]]:
            return 0                  # two neighbours swapped
        return 2 if len(diff) == 1 else 3  # one letter struck for another; else a letter moved further
    return 1                          # an extra letter typed


class Speller:
    """Maps a question word the articles never use to a close one they do (one edit away).

    Typos ("redy", "wich") and British/American spellings ("neighbours") would
    otherwise match nothing, lexically or in the embedding. ``known`` lists real
    words (the embedding model's vocabulary, set by the engine): one of those is
    only ever replaced by an inflection of itself, because a real word the
    articles lack is no typo ("keep" is not "keen", "thank" not "than").
    """

    def __init__(self, vocabulary: dict[str, int], known: frozenset[str] = frozenset()):
        self.vocabulary = vocabulary
        self.known = known
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        if self._index is None:
            index: dict[str, list[str]] = {}
            for w in self.vocabulary:
                if len(w) >= 4 and w.isalpha():
                    for d in _deletes(w) | {w}:
                        index.setdefault(d, []).append(w)
            self._index = index
        return self._index

    def correct(self, word: str) -> str:
        if word in self.vocabulary or len(word) < 4 or not word.isalpha():
            return word
        for a, b in _SPELLING:
            for x, y in ((a, b), (b, a)):
                if word.endswith(x) and word[: -len(x)] + y in self.vocabulary:
                    return word[: -len(x)] + y
                if x in word and word.replace(x, y, 1) in self.vocabulary:
                    return word.replace(x, y, 1)
        index = self._lookup()
        candidates = set(index.get(word, ())) | {c for d in _deletes(word) for c in index.get(d, ())}
        candidates = {c for c in candidates if abs(len(c) - len(word)) <= 1 and c[0] == word[0]}
        if not candidates:
            return word
        # the likelier kind of slip first; among those, the word the articles use most
        best = min(sorted(candidates), key=lambda c: (edit_rank(word, c), -self.vocabulary[c]))
        if word in self.known and _stem(best) != _stem(word):
            return word
        return best

    def fix(self, text: str) -> str:
        """``text`` with unknown words replaced by their correction (case folded)."""
        def swap(m: re.Match) -> str:
            word = m.group(0)
            fixed = self.correct(word.lower())
            return word if fixed == word.lower() else fixed

        return re.sub(r"[A-Za-z]+", swap, text)


# a question's candidates come from its rarer words' posting lists until this many postings are read;
# the commonest words add little to the ranking and, at 1M passages, were most of the BM25 time
POSTINGS_BUDGET = 200_000
_ENTRY = np.dtype([("id", "<i4"), ("score", "<f4")])  # a (passage or term, BM25 term score) pair


def _table(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    out = np.empty(len(ids), dtype=_ENTRY)
    out["id"], out["score"] = ids, scores
    return out


class Lexical:
    """BM25 over passages (scores from bm25s), plus term IDF and the vocabulary for evidence checks.

    Two tables of the same scores: term -> passages (``postings``) to find candidates, and
    passage -> terms (``forward``) to score given candidates exactly. On disk both are read
    by row (``rows.NpyRows``), so only the lists a question needs are read.
    """

    def __init__(self, terms: dict[str, int], postings, postings_start: np.ndarray, forward,
                 forward_start: np.ndarray, size: int, vocabulary: dict[str, int]):
        self.terms = terms
        self.postings, self.postings_start = postings, postings_start
        self.forward, self.forward_start = forward, forward_start
        counts = np.diff(postings_start)
        self.df = {t: int(counts[i]) for t, i in terms.items()}  # passages holding each term
        self.size = size
        self.speller = Speller(vocabulary)

    @classmethod
    def build(cls, texts: list[str], progress: bool = False) -> "Lexical":
        import bm25s
        import scipy.sparse

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        counts: Counter[str] = Counter()
        tokens = []
        # one uncached fold per text: a corpus would only flush ``fold``'s cache
        for t in stage(texts, "BM25", progress, "passage"):
            ws = _split(_fold(t))
            counts.update(ws)
            tokens.append(_content_stems(ws) or ["<empty>"])
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        data, indices, indptr = (np.asarray(bm25.scores[k]) for k in ("data", "indices", "indptr"))
        size = len(tokens)
        by_passage = scipy.sparse.csc_matrix((data, indices, indptr), shape=(size, len(indptr) - 1)).tocsr()
        by_passage.sort_indices()
        terms = {t: int(i) for t, i in bm25.vocab_dict.items() if i < len(indptr) - 1}  # bm25s adds "" past the end
        return cls(terms, _table(indices, data), indptr.astype(np.int64),
                   _table(by_passage.indices, by_passage.data), by_passage.indptr.astype(np.int64),
                   size, dict(counts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("postings", "postings_start", "forward", "forward_start"):
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)))
        meta = {"size": self.size, "terms": self.terms, "vocabulary": self.speller.vocabulary}
        (folder / "terms.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        meta = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        starts = {k: np.load(folder / f"{k}.npy", allow_pickle=False) for k in ("postings_start", "forward_start")}
        postings, forward = NpyRows(folder / "postings.npy"), NpyRows(folder / "forward.npy")
        if postings.dtype != _ENTRY or forward.dtype != _ENTRY:
            raise ValueError("unexpected BM25 table layout")
        return cls(meta["terms"], postings, starts["postings_start"], forward, starts["forward_start"],
                   int(meta["size"]), meta["vocabulary"])

    def search(self, query_tokens: list[str], k: int,
               also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best BM25 rows and the rows in ``also`` (sorted, unique), with each one's BM25.

        Posting lists are read from the rarest word up until ``POSTINGS_BUDGET`` postings: the
        best rows are picked by those words, then every returned row is scored on all of them.
        A word repeated in the question counts twice, as in bm25s.
        """
        also = np.zeros(0, dtype=np.int64) if also is None else np.asarray(also, dtype=np.int64)
        ids = self._ids(query_tokens)
        if not ids or self.size == 0:
            rows = np.unique(also)
            return rows, np.zeros(len(rows), dtype=np.float32)
        scores = np.zeros(self.size, dtype=np.float32)
        read, complete = 0, True
        for n, i in enumerate(ids):
            a, b = int(self.postings_start[i]), int(self.postings_start[i + 1])
            if n and read + (b - a) > POSTINGS_BUDGET:
                complete = False
                break
            read += b - a
            entries = self.postings[a:b]
            scores[entries["id"]] += entries["score"]  # passages are unique within a list
        matched = np.flatnonzero(scores)  # Lucene BM25 is positive wherever a query word occurs
        if 0 < k < len(matched):
            matched = matched[np.argpartition(-scores[matched], k - 1)[:k]]
        rows = np.union1d(matched, also)
        return rows, (scores[rows] if complete else self.score(ids, rows))

    def _ids(self, query_tokens: list[str]) -> list[int]:
        """Term ids of the query's known tokens, rarest first (repeats kept)."""
        return [self.terms[t] for t in sorted((t for t in query_tokens if t in self.terms), key=self.df.__getitem__)]

    def score_rows(self, query_tokens: list[str], rows: np.ndarray) -> np.ndarray:
        """BM25 of the given ``rows`` for the query."""
        ids = self._ids(query_tokens)
        return self.score(ids, rows) if ids else np.zeros(len(rows), dtype=np.float32)

    def score(self, ids: list[int], rows: np.ndarray) -> np.ndarray:
        """Exact BM25 of ``rows`` for the query's term ids (repeats count), from the passage -> terms table."""
        parts = [self.forward[int(self.forward_start[r]):int(self.forward_start[r + 1])] for r in rows]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        entries = np.concatenate(parts)
        owner = np.repeat(np.arange(len(rows)), [len(p) for p in parts])
        wanted = np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(self.terms))
        return np.bincount(owner, weights=wanted[entries["id"]] * entries["score"],
                           minlength=len(rows)).astype(np.float32)

    def idf(self, token: str) -> float:
        """Rarity of a term; unseen terms count as the rarest possible."""
        df = self.df.get(token, 0)
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))
