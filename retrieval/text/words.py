"""Words of a text as every stage sees them: folded, tokenised, stemmed, stop words out.

One tokeniser serves indexing and querying, so stemming and stop words match.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from retrieval.text.stopwords import ENGLISH as STOPWORDS_EN_PLUS

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
