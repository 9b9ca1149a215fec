"""Question -> ranked passages, each with its best sentence, plus the evidence: the ranking stages.

question analysis (``query/analyse.py``) -> candidates (from the store: the vector index and BM25) ->
features (``rank/features.py``, small pure functions) -> scores (``rank/score.py``, the weights of
``rank/weights.json``) -> the evidence the decision (``answer/decide.py``) and the answer
(``answer/compose.py``) read. The wording rules are called through the registry (``retrieval/rules.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from retrieval.ingest.articles import unglue
from retrieval.query.analyse import (METADATA as _METADATA, Analysis, analyse, asks_for_name,  # noqa: F401
                                     attribution_words, enumeration_item, question_core, question_kind)
from retrieval.rank import features as feat
from retrieval.rank import score as scoring
from retrieval.rank.score import WEIGHTS_FILE, Weights  # noqa: F401 (re-exported)
from retrieval.rank.rules.metadata import article_ends, lift_to_article
from retrieval.rank.shapes import has_shape  # noqa: F401 (re-exported)
from retrieval.rules import Rules
from retrieval.text.words import common_stems, tokenize
from retrieval.query.speller import Speller
from retrieval.types import Passage, Sentence
from retrieval.stores.base import Snapshot

# a place shown is at most this much of its article around its best sentence (the excerpt's length)
PLACE_CHARS = 1000

@dataclass(frozen=True)
class Ranked:
    """One passage as ranked for a question: its scores and its best sentence (``sentence_index``)."""

    passage: Passage
    row: int
    score: float
    dense: float
    sentence_dense: float
    bm25: float
    sentence_index: int
    sentence_score: float
    first: float = 0.0    # the score before its sentences were read: similarities and saturated BM25 (the
                          # confidence's margin reads it; the phrase and shape bonuses have features of their own)
    own_index: int = -1   # the sentence closest on its own evidence, without its context (what the decline
                          # rules read: a sentence they judge is one the question matches by itself); -1: the best


@dataclass(frozen=True)
class Evidence:
    """What the decline decision and the highlight look at: the ranking stage's record, read by the
    reranker, ``answer/decide.py`` and ``answer/compose.py``; a stage that changes it makes a new one."""

    question: str
    tokens: tuple[str, ...]
    kind: str
    analysis: Analysis | None = None
    ranked: tuple[Ranked, ...] = ()
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
                 rules: Rules = Rules(), places: int = 6):
        self.data = data
        self.w = weights
        self.rules = rules
        self.places = places  # how many places an answer can show (its passages and "More"): those are re-cut
        self.speller = Speller(data.vocabulary(), known)
        self._token_cache: dict[int, tuple[frozenset[str], tuple[frozenset[str], ...], frozenset[tuple[str, str]]]] = {}
        self._readable: dict[str, str] = {}  # shown text -> mended text, for this snapshot
        self._last_idf: tuple[tuple[str, ...], dict[str, float]] = ((), {})
        self._leads: dict[int, frozenset[str]] = {}
        # each article's rows are consecutive, in the order of ``sources``: where each article starts
        bounds = np.cumsum([0] + [src.passages for src in data.sources])
        self._article_starts = bounds if bounds[-1] == len(data) else None

    def normalise(self, question: str) -> str:
        """The question with words the articles never use mapped to close ones they do."""
        return self.rules.use("speller")(self.speller, question)

    def readable(self, text: str) -> str:
        """``text`` with the spaces scraping lost put back where both halves are words the articles use
        ("on Tuesday KazakhstanHe said" -> "Kazakhstan He"). For display only: passages stay exact slices
        of their files."""
        got = self._readable.get(text)
        if got is None:
            knows = self.data.knows
            # a stop word ("He", "The") has no tokens, and is a word
            got = unglue(text, lambda part: all(knows(t) for t in tokenize(part)))
            if len(self._readable) > 50_000:
                self._readable.clear()
            self._readable[text] = got
        return got

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

    def _tokens(self, row: int) -> tuple[frozenset[str], tuple[frozenset[str], ...], frozenset[tuple[str, str]]]:
        """Token sets of a passage (with headline) and of its sentences, and the passage's adjacent word
        pairs (within a sentence), cached per row."""
        got = self._token_cache.get(row)
        if got is None:
            p = self.data.passages([row])[0]
            lists = [tokenize(s.text) for s in p.sentences]
            pairs = frozenset().union(*(feat.word_pairs(t) for t in lists))
            sentences = tuple(frozenset(t) for t in lists)
            sentences = self.rules.use("pronoun_context")(tuple(s.text for s in p.sentences), sentences)
            # the passage's set is its headline's, author's and sentences' (tokenising context_text again cost as much)
            got = (frozenset(tokenize(f"{p.title} {p.author}")).union(*sentences), sentences, pairs)
            if len(self._token_cache) > 50_000:
                self._token_cache.clear()
            self._token_cache[row] = got
        return got

    def _widened(self, ranked: list[Ranked]) -> list[Ranked]:
        """Each place re-cut around its best sentence, up to ``PLACE_CHARS``: a window of the index ends
        where its sentence count says, and the sentence that completes an answer at its edge (the name
        after "a music hall was opened.") sits in the next one. The windows before and after it in the
        index fill in past its edges. Only the first ``places`` are: the rest are never shown."""
        shown = ranked[: self.places]
        near = sorted({n for r in shown for n in (r.row - 1, r.row + 1) if 0 <= n < len(self.data)})
        found = dict(zip(near, self.data.passages(np.array(near, dtype=np.int64)))) if near else {}
        return [_around(r, [found[n] for n in (r.row - 1, r.row + 1) if n in found], PLACE_CHARS)
                for r in shown] + ranked[self.places:]

    def _candidates(self, tokens: list[str], qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows from the vector index and from BM25 (sorted), with each row's BM25 score."""
        k = min(len(self.data), self.w.candidates)
        return self.data.candidates(tokens, qvec, k)

    def _article_index(self, rows: np.ndarray | int) -> np.ndarray | None:
        """Which article (index into ``sources``) each row belongs to; None if rows and sources disagree."""
        starts = self._article_starts
        return None if starts is None else np.searchsorted(starts, rows, side="right") - 1

    def _lead_names(self, row: int, index: int | None = None) -> frozenset[str]:
        """Tokens of the full names in the lead sentence of ``row``'s article (``Source.names``);
        ``index``, the article's, when the caller looked it up for many rows at once."""
        index = self._article_index(row) if index is None else index
        if index is None:
            return frozenset()
        article = int(index)
        got = self._leads.get(article)
        if got is None:
            got = self.rules.use("lead_names")(self.data.sources[article].names)
            if len(self._leads) > 50_000:
                self._leads.clear()
            self._leads[article] = got
        return got

    def _article_ends(self, rows: np.ndarray) -> np.ndarray:
        """The first and last passage of each article that ``rows`` come from (the ``metadata`` rule)."""
        return article_ends(self._article_starts, self._article_index(rows), rows)

    def search(self, question: str, qvec: np.ndarray, core_vec: np.ndarray | None = None) -> Evidence:
        """Rank passages for ``question`` (vector ``qvec``): candidates are scored on vectors and
        BM25 first, then the best ``Weights.scored`` read in full (sentences, answer shape).

        With ``core_vec``, the vector of ``question_core(question)``, a passage or sentence counts
        as close as the nearer of the two; the decline's similarity still uses the question as asked
        (its threshold was calibrated on that).
        """
        data, w = self.data, self.w
        a = analyse(question, self.rules)
        a = replace(a, unseen=frozenset(t for t in a.tokens if not data.knows(t)))
        tokens, topic, content = list(a.tokens), list(a.topic), list(a.content)
        if len(data) == 0:
            return Evidence(question=question, tokens=tuple(tokens), kind=a.kind, analysis=a)
        # candidates. "which website ran the piece on X": "website" and "piece" name what is asked about the
        # article, not words of its text (a passage quoting "the official website" is no closer)
        rows, bm25 = self._candidates(topic if a.about_article else tokens, qvec)
        if a.about_article:  # the asked-for line sits at the start or end of the article, maybe not among these
            rows = np.union1d(rows, self._article_ends(rows))
            bm25 = data.bm25(topic, rows)
        # features of every candidate
        queries = np.stack([qvec] if core_vec is None else [qvec, core_vec]).astype(np.float32).T
        vectors = data.sentence_vectors(rows)
        sims = feat.sentence_similarities(vectors, queries)
        sdense = [x.max(axis=1) for x in sims]
        if w.lead_name:
            asked = frozenset(tokens)
            articles = self._article_index(rows)  # one search for all rows, not one a row
            for i, r in enumerate(rows):
                lead = self._lead_names(int(r), None if articles is None else int(articles[i]))
                if asked & lead:  # the passage's own tokens are read only then
                    bm25[i] += feat.lead_name_credit(asked, lead, self._tokens(int(r))[0], data.idf, w.lead_name)
        f = feat.PassageFeatures(
            rows=rows, passage=feat.passage_similarity(data.passage_vectors(rows), queries),
            sentence=feat.best_sentence_similarity(sdense), bm25=bm25,
            bm25_saturated=feat.saturated_bm25(bm25, w.bm25_half))
        base = scoring.first_scores(f, w)
        # the best of those read in full: sentence features, then scores
        shaped: set[int] = set()
        ranked: list[Ranked] = []
        asked_pairs = feat.word_pairs(tokens)
        read = np.argsort(-base, kind="stable")[: w.scored]
        if a.about_article:  # and the first and last passage of those articles, wherever they rank
            ends = self._article_ends(rows[read])
            read = np.concatenate([read, np.setdiff1d(np.flatnonzero(np.isin(rows, ends)), read)])
        for i in read:
            row = int(rows[i])
            p = data.passages([row])[0]
            own = tuple(sdense[i].tolist())
            sf = feat.SentenceFeatures(
                similarity=tuple(feat.context_similarities(vectors[i], sims[i], sdense[i], w.sentence_context).tolist())
                if w.sentence_context else own,
                asked=float(sims[i][:, 0].max()),
                overlap=feat.overlaps(self._tokens(row)[1], lambda t: self.coverage(content, t)),
                shaped=feat.sentence_shapes(p, a.kind, a.about_article), opens_item=feat.item_openings(p, a.item),
                agrees=feat.polarities(p, a.negated))
            sscore = scoring.sentence_scores(sf, w, a.about_article)
            chosen = int(np.argmax(sscore))
            best = feat.onto_stated_figure(chosen, sf.shaped, a.kind)
            alone = chosen if sf.similarity == own else int(np.argmax(
                scoring.sentence_scores(replace(sf, similarity=own), w, a.about_article)))
            phrase = feat.phrase_share(asked_pairs, self._tokens(row)[2]) if w.phrase else 0.0
            ranked.append(Ranked(p, row, scoring.passage_score(float(base[i]), sf, w, a.about_article, phrase),
                                 float(f.passage[i]), sf.asked, float(bm25[i]), best, sscore[best],
                                 first=float(base[i]), own_index=alone))
            if any(sf.shaped):
                shaped.add(row)
        # whose words count as a passage's evidence for declining: its own, unless lifted to its article's
        ranked, topical = lift_to_article(ranked, shaped, w.metadata) if a.about_article else (ranked, {})
        ranked.sort(key=lambda r: -r.score)
        ranked = _distinct(self._widened(ranked))
        common = common_stems(question)
        telling = [t for t in topic if t not in common] or topic
        coverage = 0.0
        if ranked:
            top = topical.get(ranked[0].row, ranked[0].row)
            coverage = self.coverage(telling, self._tokens(top)[0] | self._lead_names(top))
        weights = self._idf_weights(topic)
        total = sum(weights.values())
        # a very common word the articles lack ("called", "else") says nothing about the topic
        absent = [t for t in weights if t in a.unseen and t not in common]
        unseen = sum(weights[t] for t in absent) / total if total else 1.0
        return Evidence(question=question, tokens=tuple(tokens), kind=a.kind, analysis=a, ranked=tuple(ranked),
                        coverage=coverage, unseen=unseen, telling=frozenset(telling))


def _around(r: Ranked, neighbours: list[Passage], limit: int) -> Ranked:
    """``r`` with its passage re-cut from its article's sentences (its own and its neighbour windows') to
    at most ``limit`` characters around its best sentence, grown a sentence at a time on either side."""
    p = r.passage
    by_start = {s.start: s for q in (*neighbours, p) if q.file == p.file for s in q.sentences}
    run = [by_start[k] for k in sorted(by_start)]
    best = run.index(p.sentences[r.sentence_index])
    lo, hi = feat.span_around([len(s.text) for s in run], best, limit)
    kept = tuple(run[lo:hi + 1])
    return r if kept == p.sentences else _recut(r, kept)


def _recut(r: Ranked, kept: tuple[Sentence, ...]) -> Ranked:
    """``r`` showing the sentences ``kept`` (its best one among them), its sentence indexes moved onto them;
    ``own_index`` -1 when the sentence it named is no longer shown."""
    sents = r.passage.sentences
    own = sents[r.own_index] if r.own_index >= 0 else None
    return replace(r, passage=replace(r.passage, sentences=kept, start=kept[0].start, end=kept[-1].end),
                   sentence_index=kept.index(sents[r.sentence_index]),
                   own_index=kept.index(own) if own in kept else -1)


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
            r = _recut(r, sents[lo:hi + 1])
        spans.append((r.passage.start, r.passage.end))
        out.append(r)
    return out
