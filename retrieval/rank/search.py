"""Question -> ranked passages, each with its best sentence, plus the evidence.

Dense scores come from FAISS (passages) and the stored sentence vectors;
lexical scores from BM25. A passage is scored by a weighted sum of its own
similarity, its best sentence's similarity and its normalised BM25 score,
because a factoid answer usually sits in one sentence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from retrieval.ingest.articles import BYLINE_WORDS, unglue
from retrieval.query.analyse import (METADATA as _METADATA, Analysis, analyse, asks_for_name,  # noqa: F401
                                     attribution_words, enumeration_item, question_core, question_kind)
from retrieval.rules import Rules
from retrieval.text.words import common_stems, fold, tokenize
from retrieval.query.speller import Speller
from retrieval.types import Passage
from retrieval.stores.base import Snapshot

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_NUMBER_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|decades?|twice|once"
_NOT_A_DAY = r"anniversary|century|birthday|session|congress|plenary|round|edition|time|annual"
_SHAPES = {
    # a calendar year, or one counted back from the article's date ("diplomatic ties 30 years ago")
    "year": re.compile(r"\b((1[89]|20)\d\d|\d+ years? ago)\b"),
    # "on the 27th" is a day of the month, "the 30th anniversary" is not
    "date": re.compile(rf"\b((19|20)\d\d|{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
                       rf"|\d{{1,2}}(st|nd|rd|th)(?! (?:{_NOT_A_DAY})\b)|\d+ (years?|months?|days?) ago|yesterday|today)\b"),
    "percent": re.compile(r"\d\s?(?:%|percent\b|per cent\b)"),
    # a count or amount: not a calendar year, an ordinal ("the 27th") or a code ("5G")
    "number": re.compile(rf"(?<![\w.])(?!(?:1[89]|20)\d\d\b)\d[\d,.]*(?![\w-])(?<![.,])|\b({_NUMBER_WORDS})\b"),
    "person": re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+"),
    # "Editor/Ma Xue", "By Jane Doe", "Reporter: Li Wei" as a sentence of its own
    "byline": re.compile(rf"^(?i:{BYLINE_WORDS})\s*[/:：|]?\s*"
                         r"[A-Z][\w'.-]+(?:\s+[A-Z][\w'.-]+){0,3}\s*$"),
}


def has_shape(text: str, kind: str, outlet: str = "", date: str = "", byline: str = "") -> bool:
    """Does ``text`` look like an answer of this kind (a date, a number, a name, a byline,
    or the article's own outlet or date)?"""
    if not kind:
        return False
    if kind in ("outlet", "published"):
        value = outlet if kind == "outlet" else date
        return bool(value) and fold(value) in fold(text)
    if kind == "byline" and byline and text == byline:
        return True  # the page's own byline line, whatever its form ("Chinese ambassador to KazakhstanZhang Xiao")
    return bool(_SHAPES[kind].search(text if kind in ("person", "byline") else fold(text)))


@dataclass(frozen=True)
class Weights:
    """Mix of the evidence; calibrated on the dev questions (``benchmarks/calibrate.py``)."""

    passage: float = 0.30         # question vs headline + passage
    sentence: float = 0.30        # question vs the passage's best sentence
    bm25: float = 0.60            # BM25 of headline + passage, saturated: s / (s + bm25_half)
    bm25_half: float = 4.0        # 0: divide by the best candidate's score instead
    shape: float = 0.03           # best sentence has the asked-for shape (date, number, name...)
    metadata: float = 0.10        # "which newspaper / when was the article posted / who edited it": the
                                  # passage holds its article's outlet, date or byline; one without cannot answer
    sentence_overlap: float = 0.75  # highlight: share of question words in the sentence (fit_weights.py: every
                                    # leave-one-article-out fold chose the top of 0-1; 0.75 with shape 0.3 kept declines)
    sentence_shape: float = 0.30    # highlight: the sentence has the asked-for shape
    sentence_metadata: float = 1.0  # highlight: the sentence holds the asked-for outlet, date or byline
    lead_name: float = 0.75       # a name of the article's lead sentence adds this much of its IDF to the BM25 of
                                  # the article's passages that lack it (0.25-0.75 all gained; 0.75: nothing fell)
    candidates: int = 30          # from the vector index and from BM25 each
    scored: int = 12              # of those, how many are read in full (sentences, shape) and ranked

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> "Weights":
        """The weights in ``rank/weights.json`` (the one place they are set); a field it lacks keeps its default."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"_comment"})
        if unknown:
            raise ValueError(f"{path}: unknown weight(s) {', '.join(unknown)}")
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Ranked:
    passage: Passage
    row: int
    score: float
    dense: float
    sentence_dense: float
    bm25: float
    sentence_index: int
    sentence_score: float


@dataclass
class Evidence:
    """What the decline decision and the highlight look at."""

    question: str
    tokens: list[str]
    kind: str
    analysis: Analysis | None = None
    ranked: list[Ranked] = field(default_factory=list)
    coverage: float = 0.0   # IDF-weighted share of question words in the best passage (the commonest
                            # English words aside: "which currency do they *use*" is not half-answered by "use")
    unseen: float = 0.0     # IDF-weighted share of question words the articles never use (the commonest
                            # English words aside)
    telling: frozenset[str] = frozenset()  # the question's topic tokens but the commonest English words


class Searcher:
    """Ranks the passages of one loaded index for a question and its vector.

    >>> text = searcher.normalise("wich year?")   # spelling folded to the corpus
    >>> evidence = searcher.search(text, embedder.encode([text])[0])
    >>> core = question_core(text)   # also the core, encoded on its own as the engine does
    >>> evidence = searcher.search(text, embedder.encode([text])[0], embedder.encode([core])[0])
    """

    def __init__(self, data: Snapshot, weights: Weights = Weights(), known: frozenset[str] = frozenset(),
                 rules: Rules = Rules()):
        self.data = data
        self.w = weights
        self.rules = rules
        self.speller = Speller(data.vocabulary(), known)
        self._token_cache: dict[int, tuple[frozenset[str], tuple[frozenset[str], ...]]] = {}
        self._last_idf: tuple[tuple[str, ...], dict[str, float]] = ((), {})
        self._leads: dict[int, frozenset[str]] = {}
        # each article's rows are consecutive, in the order of ``sources``: where each article starts
        bounds = np.cumsum([0] + [src.passages for src in data.sources])
        self._article_starts = bounds if bounds[-1] == len(data) else None

    def normalise(self, question: str) -> str:
        """The question with words the articles never use mapped to close ones they do."""
        return self.speller.fix(question) if self.rules.on("speller") else question

    def readable(self, text: str) -> str:
        """``text`` with the spaces scraping lost put back where both halves are words the articles use
        ("on Tuesday KazakhstanHe said" -> "Kazakhstan He"). For display only: passages stay exact slices
        of their files."""
        knows = self.data.knows
        # a stop word ("He", "The") has no tokens, and is a word
        return unglue(text, lambda part: all(knows(t) for t in tokenize(part)))

    def coverage(self, tokens: list[str], text: str | frozenset[str]) -> float:
        """IDF-weighted share of the question's content words found in ``text`` (or its token set)."""
        if not tokens:
            return 0.0
        present = text if isinstance(text, frozenset) else frozenset(tokenize(text))
        weights = self._idf_weights(tokens)
        total = sum(weights.values())
        found = sum(v for t, v in weights.items() if t in present)
        return found / total if total else 0.0

    def _idf_weights(self, tokens: list[str]) -> dict[str, float]:
        """IDF of each distinct question token; the last question's are kept (called ~300 times per answer)."""
        key = tuple(tokens)
        last = self._last_idf
        if last[0] != key:
            last = (key, {t: self.data.idf(t) for t in set(tokens)})
            self._last_idf = last
        return last[1]

    def _tokens(self, row: int) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
        """Token sets of a passage (with headline) and of its sentences, cached per row."""
        got = self._token_cache.get(row)
        if got is None:
            p = self.data.passages([row])[0]
            sentences = tuple(frozenset(tokenize(s.text)) for s in p.sentences)
            # the passage's set is its headline's, author's and sentences' (tokenising context_text again cost as much)
            got = (frozenset(tokenize(f"{p.title} {p.author}")).union(*sentences), sentences)
            if len(self._token_cache) > 50_000:
                self._token_cache.clear()
            self._token_cache[row] = got
        return got

    def _candidates(self, tokens: list[str], qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows from the vector index and from BM25 (sorted), with each row's BM25 score."""
        k = min(len(self.data), self.w.candidates)
        return self.data.lexical(tokens, k, also=self.data.dense(qvec, k))

    def _article_index(self, rows: np.ndarray | int) -> np.ndarray | None:
        """Which article (index into ``sources``) each row belongs to; None if rows and sources disagree."""
        starts = self._article_starts
        return None if starts is None else np.searchsorted(starts, rows, side="right") - 1

    def _lead_names(self, row: int) -> frozenset[str]:
        """Tokens of the full names in the lead sentence of ``row``'s article (``Source.names``)."""
        index = self._article_index(row)
        if index is None:
            return frozenset()
        article = int(index)
        got = self._leads.get(article)
        if got is None:
            got = frozenset(tokenize(" ".join(self.data.sources[article].names)))
            if len(self._leads) > 50_000:
                self._leads.clear()
            self._leads[article] = got
        return got

    def _article_ends(self, rows: np.ndarray) -> np.ndarray:
        """The first and last passage of each article that ``rows`` come from: where a page keeps its
        byline and dateline (the first) and its "Source: ..." line (the last)."""
        i = self._article_index(rows)
        if i is None or not len(rows):
            return np.zeros(0, dtype=np.int64)
        starts = self._article_starts
        return np.union1d(starts[i], starts[i + 1] - 1)

    def search(self, question: str, qvec: np.ndarray, core_vec: np.ndarray | None = None) -> Evidence:
        """Rank passages for ``question`` (vector ``qvec``): candidates are scored on vectors and
        BM25 first, then the best ``Weights.scored`` read in full (sentences, answer shape).

        With ``core_vec``, the vector of ``question_core(question)``, a passage or sentence counts
        as close as the nearer of the two; the decline's similarity still uses the question as asked
        (its threshold was calibrated on that).
        """
        data, w = self.data, self.w
        a = analyse(question, self.rules)
        tokens, topic, content, item = list(a.tokens), list(a.topic), list(a.content), a.item
        ev = Evidence(question=question, tokens=tokens, kind=a.kind, analysis=a)
        kind = a.kind
        if len(data) == 0:
            return ev
        # "which website ran the piece on X": "website" and "piece" name what is asked about the article, not
        # words of its text (a passage quoting "the official website" is no closer); other kinds keep theirs
        rows, bm25 = self._candidates(topic if kind in _METADATA else tokens, qvec)
        if kind in _METADATA:  # the asked-for line sits at the start or end of the article, maybe not among these
            rows = np.union1d(rows, self._article_ends(rows))
            bm25 = data.bm25(topic, rows)
        queries = np.stack([qvec] if core_vec is None else [qvec, core_vec]).astype(np.float32).T
        pdense = (data.passage_vectors(rows) @ queries).max(axis=1)
        sims = [x @ queries for x in data.sentence_vectors(rows)]
        sdense = [x.max(axis=1) for x in sims]
        smax = np.array([float(x.max()) if len(x) else 0.0 for x in sdense], dtype=np.float32)
        leads = self.rules.on("lead_names")
        if w.lead_name and leads:  # the names of an article's lead sentence count, in part, for its passages that lack them
            asked = set(tokens)
            for i, r in enumerate(rows):
                named = asked & self._lead_names(int(r))
                if named:
                    bm25[i] += w.lead_name * sum(data.idf(t) for t in named - self._tokens(int(r))[0])
        if w.bm25_half > 0:
            bnorm = bm25 / (bm25 + w.bm25_half)
        else:
            top = float(bm25.max()) if len(bm25) else 0.0
            bnorm = bm25 / top if top > 0 else np.zeros_like(bm25)
        base = w.passage * pdense + w.sentence * smax + w.bm25 * bnorm
        # a metadata line (dateline, byline, "Source: ...") is the answer itself wherever the passage has one
        shape_bonus = w.sentence_metadata if ev.kind in _METADATA else w.sentence_shape
        shaped: set[int] = set()
        read = np.argsort(-base, kind="stable")[: w.scored]
        if ev.kind in _METADATA:  # and the first and last passage of those articles, wherever they rank
            ends = self._article_ends(rows[read])
            read = np.concatenate([read, np.setdiff1d(np.flatnonzero(np.isin(rows, ends)), read)])
        for i in read:
            row = int(rows[i])
            p = data.passages([row])[0]
            shapes = [has_shape(s.text, ev.kind, p.outlet, p.date, p.byline) for s in p.sentences]
            sent_tokens = self._tokens(row)[1]
            # the sentence opening the asked-for item of a list ("The second is to ...") counts as the answer's shape
            opens = [bool(item and item.match(fold(s.text))) for s in p.sentences]
            sscore = [float(sdense[i][j]) + w.sentence_overlap * self.coverage(content, sent_tokens[j])
                      + (shape_bonus if shapes[j] else 0.0) + (w.sentence_shape if opens[j] else 0.0)
                      for j in range(len(p.sentences))]
            best = int(np.argmax(sscore))
            score = float(base[i]) + ((w.metadata if ev.kind in _METADATA else w.shape) if any(shapes) else 0.0)
            score += w.shape if any(opens) else 0.0
            ev.ranked.append(Ranked(p, row, score, float(pdense[i]), float(sims[i][:, 0].max()), float(bm25[i]),
                                    best, sscore[best]))
            if any(shapes):
                shaped.add(row)
        # whose words count as a passage's evidence for declining: its own, unless lifted to its article's
        topical = _lift_to_article(ev.ranked, shaped, w.metadata) if ev.kind in _METADATA else {}
        ev.ranked.sort(key=lambda r: -r.score)
        ev.ranked = _distinct(ev.ranked)
        common = common_stems(question)
        telling = [t for t in topic if t not in common] or topic
        ev.telling = frozenset(telling)
        if ev.ranked:
            top = topical.get(ev.ranked[0].row, ev.ranked[0].row)
            ev.coverage = self.coverage(telling, self._tokens(top)[0] | (self._lead_names(top) if leads else frozenset()))
        weights = self._idf_weights(topic)
        total = sum(weights.values())
        # a very common word the articles lack ("called", "else") says nothing about the topic
        absent = [t for t in weights if not data.knows(t) and t not in common]
        ev.unseen = sum(weights[t] for t in absent) / total if total else 1.0
        return ev


def _lift_to_article(ranked: list[Ranked], shaped: set[int], bonus: float) -> dict[int, int]:
    """For questions about an article's outlet, date or byline: rank the passage holding that line as its
    article's best (plus ``bonus``). The question names the article by its topic, and the line may sit in
    another passage than the one closest to that topic. Returns lifted row -> the topical row it stands for.
    """
    article: dict[str, Ranked] = {}
    for r in ranked:
        plain = r.score - (bonus if r.row in shaped else 0.0)
        if r.passage.file not in article or plain > article[r.passage.file].score:
            article[r.passage.file] = replace(r, score=plain)
    topical = {}
    for r in ranked:
        lead = article[r.passage.file]
        if r.row in shaped and lead.row != r.row:
            r.score, r.sentence_dense = lead.score + bonus, max(r.sentence_dense, lead.sentence_dense)
            topical[r.row] = lead.row
    return topical


def _distinct(ranked: list[Ranked]) -> list[Ranked]:
    """Each passage a different place: one overlapping a higher-ranked passage of its article keeps only
    the sentences that one does not show, or goes when its best sentence is already shown.

    Windows of one article share a sentence with their neighbours (so an answer straddling an edge is
    found whole); shown whole, side by side, they would repeat it. Trimmed instead of dropped, the
    lower window still shows what only it holds.
    """
    out: list[Ranked] = []
    shown: dict[str, list[tuple[int, int]]] = {}
    for r in ranked:
        spans = shown.setdefault(r.passage.file, [])
        sents = r.passage.sentences
        fresh = [not any(s.start < end and start < s.end for start, end in spans) for s in sents]
        if not fresh[r.sentence_index]:
            continue
        lo = hi = r.sentence_index  # the run of unshown sentences around the best one
        while lo > 0 and fresh[lo - 1]:
            lo -= 1
        while hi + 1 < len(sents) and fresh[hi + 1]:
            hi += 1
        if (lo, hi) != (0, len(sents) - 1):
            kept = sents[lo:hi + 1]
            r = replace(r, passage=replace(r.passage, sentences=kept, start=kept[0].start, end=kept[-1].end),
                        sentence_index=r.sentence_index - lo)
        spans.append((r.passage.start, r.passage.end))
        out.append(r)
    return out
