"""Question words the articles never use -> close ones they do (typos, British spellings)."""

from __future__ import annotations

import re

from retrieval.text.words import _stem

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
        self._known_index: dict[str, list[str]] | None = None

    @staticmethod
    def _deletes_index(words) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for w in words:
            if len(w) >= 4 and w.isalpha():
                for d in _deletes(w) | {w}:
                    index.setdefault(d, []).append(w)
        return index

    def _lookup(self) -> dict[str, list[str]]:
        if self._index is None:
            self._index = self._deletes_index(self.vocabulary)
        return self._index

    def _near(self, word: str, index: dict[str, list[str]]) -> set[str]:
        """Words of ``index`` one edit from ``word``, with its first letter."""
        found = set(index.get(word, ())) | {c for d in _deletes(word) for c in index.get(d, ())}
        return {c for c in found if abs(len(c) - len(word)) <= 1 and c[0] == word[0] and c != word}

    def _likelier_elsewhere(self, word: str, rank: int) -> bool:
        """Is a real word the articles do not use (``known``) a likelier slip for ``word`` than their best?
        "redy" is "ready" with a letter left out before it is the name "Rudy" with a letter struck."""
        if not self.known:
            return False
        if self._known_index is None:
            self._known_index = self._deletes_index(self.known)
        return any(edit_rank(word, c) < rank for c in self._near(word, self._known_index))

    def correct(self, word: str) -> str:
        if word in self.vocabulary or len(word) < 4 or not word.isalpha():
            return word
        for a, b in _SPELLING:
            for x, y in ((a, b), (b, a)):
                if word.endswith(x) and word[: -len(x)] + y in self.vocabulary:
                    return word[: -len(x)] + y
                if x in word and word.replace(x, y, 1) in self.vocabulary:
                    return word.replace(x, y, 1)
        candidates = self._near(word, self._lookup())
        if not candidates:
            return word
        # the likelier kind of slip first; among those, the word the articles use most
        best = min(sorted(candidates), key=lambda c: (edit_rank(word, c), -self.vocabulary[c]))
        if word in self.known and _stem(best) != _stem(word) or self._likelier_elsewhere(word, edit_rank(word, best)):
            return word
        return best

    def fix(self, text: str) -> str:
        """``text`` with unknown words replaced by their correction (case folded)."""
        def swap(m: re.Match) -> str:
            word = m.group(0)
            fixed = self.correct(word.lower())
            return word if fixed == word.lower() else fixed

        return re.sub(r"[A-Za-z]+", swap, text)


