"""BM25 over passages (bm25s), saved beside the vectors as arrays + JSON.

One tokeniser serves indexing and querying, so stemming and stop words match.
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from bm25s.stopwords import STOPWORDS_EN_PLUS

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


# British spellings folded to the American ones the news wires use, and back
_SPELLING = [("our", "or"), ("ise", "ize"), ("ised", "ized"), ("ising", "izing"), ("isation", "ization"),
             ("yse", "yze"), ("tre", "ter"), ("ogue", "og"), ("lled", "led"), ("lling", "ling")]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Speller:
    """Maps a question word the articles never use to a close one they do (one edit away).

    Typos ("redy", "wich") and British/American spellings ("neighbours") would
    otherwise match nothing, lexically or in the embedding.
    """

    def __init__(self, vocabulary: dict[str, int]):
        self.vocabulary = vocabulary
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
        return max(sorted(candidates), key=lambda c: self.vocabulary[c])

    def fix(self, text: str) -> str:
        """``text`` with unknown words replaced by their correction (case folded)."""
        def swap(m: re.Match) -> str:
            word = m.group(0)
            fixed = self.correct(word.lower())
            return word if fixed == word.lower() else fixed

        return re.sub(r"[A-Za-z]+", swap, text)


def advise_random(array) -> None:
    """Tell the kernel a memory-mapped array is read at random, so a page fault does not also read ahead.

    Read-ahead is 8 MB per fault on this machine's disk: from a cold cache, a 1M-passage bot's
    posting lists alone made it resident at several GB after 74 questions. (Once a file sits in
    the page cache as large folios, as right after a build, a fault maps a whole folio anyway.)
    """
    mapped = getattr(array, "_mmap", None)  # numpy.memmap's mmap object
    if mapped is not None and hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)


class Lexical:
    """BM25 scores of every passage for a query, plus term IDF for evidence checks."""

    def __init__(self, bm25, df: dict[str, int], size: int, vocabulary: dict[str, int]):
        self._bm25 = bm25
        self.df = df
        self.size = size
        self.speller = Speller(vocabulary)

    @classmethod
    def build(cls, texts: list[str], progress: bool = False) -> "Lexical":
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        counts: Counter[str] = Counter()
        tokens = []
        if progress:
            from tqdm import tqdm

            texts = tqdm(texts, desc="BM25", unit="passage", delay=1.0)
        for t in texts:  # one uncached fold per text: a corpus would only flush ``fold``'s cache
            ws = _split(_fold(t))
            counts.update(ws)
            tokens.append(_content_stems(ws) or ["<empty>"])
        vocabulary = dict(counts)
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        df: dict[str, int] = {}
        for toks in tokens:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        return cls(bm25, df, len(texts), vocabulary)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)
        meta = {"size": self.size, "df": self.df, "vocabulary": self.speller.vocabulary}
        (folder / "df.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0)
        for key in ("data", "indices"):
            advise_random(bm25.scores.get(key))
        meta = json.loads((folder / "df.json").read_text(encoding="utf-8"))
        return cls(bm25, meta["df"], int(meta["size"]), meta["vocabulary"])

    def search(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every passage, and the rows of the ``k`` best among those holding a query word.

        Each word's posting list is added straight into the scores: rows are unique within a
        list, so plain indexed addition gives bm25s's sums, several times faster than its
        ``np.add.at``; and the best rows are picked among the matched ones, not all passages
        (at 1M passages that was ~5 ms per question).
        """
        scores = np.zeros(self.size, dtype=np.float32)
        bm = self._bm25
        ids = [bm.vocab_dict[t] for t in query_tokens if t in self.df and t in bm.vocab_dict]
        if not ids or self.size == 0:
            return scores, np.zeros(0, dtype=np.int64)
        if getattr(bm, "nonoccurrence_array", None) is not None:  # BM25L/BM25+: a constant for every passage
            scores = np.asarray(bm.get_scores(ids), dtype=np.float32)
            return scores, (np.argpartition(-scores, k - 1)[:k] if 0 < k < self.size else np.arange(self.size))
        data, indices, indptr = bm.scores["data"], bm.scores["indices"], bm.scores["indptr"]
        for i in ids:
            a, b = int(indptr[i]), int(indptr[i + 1])
            scores[indices[a:b]] += data[a:b]
        rows = np.flatnonzero(scores)  # Lucene BM25 is positive wherever a query word occurs
        if 0 < k < len(rows):
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        return scores, rows

    def idf(self, token: str) -> float:
        """Rarity of a term; unseen terms count as the rarest possible."""
        df = self.df.get(token, 0)
        n = max(self.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))
