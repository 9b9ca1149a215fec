"""The one object every door shares: build, load, answer, sources.

>>> engine = Engine(Settings.from_env())
>>> engine.ensure_index()          # loads, or builds when missing or stale
>>> engine.answer("when were diplomatic relations established?").answer_sentence
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.answer.compose import DeclinePolicy, compose
from retrieval.ingest.articles import Corpus, list_corpus, read_corpus, without_dateline
from retrieval.progress import stage
from retrieval.embed.batching import MicroBatcher
from retrieval.embed.models import make_embedder
from retrieval.errors import CorpusProblem, IndexMissing, IndexOutdated, IndexProblem
from retrieval.text.words import common_stems
from retrieval.text.names import bm25_texts, lead_names
from retrieval.split import make_passages
from retrieval.query.clean import clean_question
from retrieval.rank.rerank import Reranker
from retrieval.types import UNUSABLE, Answer, BuildReport, CorpusChange, Source
from retrieval.rank.search import Evidence, Searcher, Weights
from retrieval.answer.confidence import Calibration
from retrieval.rules import Rules
from retrieval.settings import Settings
from retrieval.stores import make_store
from retrieval.stores.base import Batch, Snapshot, Store

log = logging.getLogger(__name__)


def text_key(text: str) -> bytes:
    """Content hash used to reuse embeddings of unchanged text across builds."""
    return hashlib.sha1(text.encode("utf-8")).digest()


# What cleaning and splitting make of the same files, kept apart from the stores' file formats (a 1M-passage
# archive is not re-read for a format it does not need): a build from another version is served with a notice
# saying `newsbot index` cuts it again, reusing the vectors of every text that did not change. 0: before it was recorded; 1: sentences do not end
# inside an initialism ("C.S.C.") or after a title before a name ("Fr. Sorin") (split.py); 2: a sentence's vector
# is of its text without the dateline it opens with
TEXT_VERSION = 2
INDEX_AGAIN = "Run `newsbot index` to cut them again (the vectors of unchanged text are reused)."
BUILD_BATCH_ARTICLES = 256  # articles read, embedded and written at a time: memory stays bounded


def _batches(items, size: int):
    it = iter(items)
    while group := list(itertools.islice(it, size)):
        yield group


def _fingerprint(folder: Path) -> dict[str, dict]:
    out = {}
    for path in list_corpus(folder):
        try:
            st = path.stat()
        except OSError:
            continue
        out[path.relative_to(folder).as_posix()] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return out


def _require_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise CorpusProblem(f"the corpus folder {folder} does not exist; create it or set BOT_CORPUS_DIR")


def _same_bytes(path: Path, sha256: str) -> bool:
    """Does the file still hold the bytes whose hash the build recorded? (False when none was recorded.)"""
    if not sha256:
        return False
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


class Engine:
    """Question answering over the indexed articles; thread-safe ``answer``."""

    def __init__(self, settings: Settings | None = None, embedder=None,
                 weights: Weights | None = None, policy: DeclinePolicy = DeclinePolicy()):
        self.settings = settings or Settings.from_env()
        self.embedder = embedder or make_embedder(self.settings)
        self.store: Store = make_store(self.settings)
        self.weights = weights or Weights.load()
        self.policy = policy
        self.rules = Rules(self.settings.rules_off)
        self.calibration = Calibration.load()
        self.reranker = Reranker(self.settings.reranker) if self.settings.reranker else None
        self._queries = MicroBatcher(self.embedder.encode)
        self._data: Snapshot | None = None
        self._searcher: Searcher | None = None
        self._words: frozenset[str] | None = None
        self._lock = threading.Lock()

    # -- building -----------------------------------------------------------------------------

    def build(self, progress: bool = True) -> BuildReport:
        """Read, clean, split and embed the corpus in batches of articles, streaming them into a new
        build of the store, then publish it atomically.

        The corpus is read in two passes (``read_corpus``): the first finds the lines repeated across
        files, the second cleans one batch of articles at a time, so no step holds every article.
        """
        started = time.perf_counter()
        folder = self.settings.corpus_dir
        _require_folder(folder)
        fingerprint = _fingerprint(folder)
        with read_corpus(folder, progress=progress) as corpus:
            if not corpus.count:
                raise CorpusProblem(f"no usable articles in {folder} ({self._why(corpus.skipped)})")
            return self._build(corpus, fingerprint, progress, started)

    @staticmethod
    def _why(skipped) -> str:
        return "; ".join(f"{s.file}: {s.reason}" for s in skipped) or "no .txt, .md or .html files"

    def _build(self, corpus: Corpus, fingerprint: dict, progress: bool, started: float) -> BuildReport:
        """The second pass of ``build``: clean, split, embed and write one batch of articles at a time."""
        folder = self.settings.corpus_dir
        previous = self._previous()
        writer = self.store.writer()
        sources: list[Source] = []
        hashes: dict[str, dict] = {}
        embedded = reused = total = 0
        try:
            # one bar over the articles: between cleaning and BM25 a big build splits, names and embeds
            # for most of its time, and showed nothing
            bar = stage(None, "splitting and embedding", progress, "article", total=corpus.count)
            for group in _batches(corpus.articles(self.rules), BUILD_BATCH_ARTICLES):
                if bar is not None:
                    bar.update(len(group))
                hashes.update((a.file, {"sha256": a.sha256, **fingerprint.get(a.file, {})}) for a in group)
                passages = [p for a in group for p in make_passages(
                    a, self.settings.passage_min_words, self.settings.passage_max_words)]
                if not passages:
                    continue
                # a sentence without the dateline it opens with: where and when the story was filed is not
                # what the sentence states ("Nur-Sultan, June 6 (Xinhua) – Wang Yi ..." is not about Nur-Sultan)
                texts = [p.context_text for p in passages] + [without_dateline(s.text) or s.text
                                                              for p in passages for s in p.sentences]
                keys = np.array([text_key(t) for t in texts], dtype="S20")
                vectors, fresh, old = self._embed(texts, keys, previous, progress)
                embedded, reused, total = embedded + fresh, reused + old, total + len(passages)
                n = len(passages)
                lexical = tuple(bm25_texts(passages, rules=self.rules))
                writer.add(Batch(tuple(passages), vectors[:n], vectors[n:], keys, lexical))
                per_file = Counter(p.file for p in passages)
                first = {p.file: p for p in reversed(passages)}
                sources += [Source(a.file, a.title, a.date, a.outlet, per_file[a.file], lead_names(first[a.file]))
                            for a in group if per_file[a.file]]
            if not hashes:
                raise CorpusProblem(f"no usable articles in {folder} ({self._why(corpus.skipped)})")
            manifest = {
                "model": self.settings.model,
                "embedding": self.embedder.identity,
                "build_rules_off": list(self.rules.build_off),  # what was indexed depends on them
                "text_version": TEXT_VERSION,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "corpus": hashes,
                "fingerprint": fingerprint,
                "skipped": [{"file": s.file, "reason": s.reason} for s in corpus.skipped],
                "sources": [s.to_dict() for s in sources],
            }
            if bar is not None:
                bar.update(corpus.count - bar.n)  # the files the cleaner rejected
                bar.close()
            writer.publish(manifest, progress)
        except BaseException:
            writer.abort()
            raise
        self.load()
        return BuildReport(len(hashes) + len(corpus.skipped), total, tuple(corpus.skipped),
                           time.perf_counter() - started, embedded=embedded, reused=reused)

    def _previous(self) -> Snapshot | None:
        """The live build, if its vectors came from the same embedding (reusable)."""
        try:
            data = self._data or self.store.open(self.settings.model)
        except IndexProblem:
            return None
        return data if data.manifest.get("embedding") == self.embedder.identity else None

    def _embed(self, texts: list[str], keys: np.ndarray, previous: Snapshot | None,
               progress: bool) -> tuple[np.ndarray, int, int]:
        """Vectors for ``texts``: reused by content hash from the live build, the rest encoded."""
        found, reused = (previous.reusable(keys) if previous is not None
                         else (np.zeros(len(texts), dtype=bool), None))
        missing = np.flatnonzero(~found)
        uniq, first, inverse = np.unique(keys[missing], return_index=True, return_inverse=True)
        fresh = self.embedder.encode([texts[missing[i]] for i in first], progress=progress) if len(uniq) else None
        dim = reused.shape[1] if reused is not None and len(reused) else fresh.shape[1]
        out = np.empty((len(texts), dim), dtype=np.float32)
        if reused is not None and len(reused):
            out[found] = reused
        if fresh is not None:
            out[missing] = fresh[inverse.reshape(-1)]
        return out, len(uniq), int(found.sum())

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the live index; raises ``IndexProblem`` with what to run."""
        data = self.store.open(self.settings.model)
        common_stems("the")  # loads the word-frequency table now, not during someone's first question
        searcher = Searcher(data, self.weights, self._known_words(), self.rules, places=2 * self.settings.top_k)
        with self._lock:
            self._data, self._searcher = data, searcher

    def _known_words(self) -> frozenset[str]:
        """Real words for the speller to leave alone: the whole words of the embedder's vocabulary
        (not its sub-word pieces or special tokens), read once.

        Without it the speller "corrected" everyday words the articles happen to lack into
        different words they use ("thank" -> "than", "keep" -> "keen", "were" -> "week").
        An embedder without a vocabulary (a test double) leaves the speller as it was.
        """
        if self._words is None:
            vocabulary = getattr(self.embedder, "vocabulary", None)
            tokens = vocabulary() if callable(vocabulary) else []
            self._words = frozenset(t.lower() for t in tokens if t.isalpha())
        return self._words

    def is_stale(self) -> CorpusChange:
        """What was added, removed or changed in the corpus since the live build (false: nothing).

        A file whose size or modification time moved is read again: one only touched, or copied without
        its times ("cp", "rsync" without -t), holds the bytes the build hashed and has not changed; at a
        million passages a rebuild for it would take minutes."""
        folder = self.settings.corpus_dir
        now = _fingerprint(folder)
        manifest = self._data.manifest if self._data is not None else {}
        built, hashes = manifest.get("fingerprint") or {}, manifest.get("corpus") or {}
        changed = sum(now[f] != built[f] and not _same_bytes(folder / f, hashes.get(f, {}).get("sha256", ""))
                      for f in now.keys() & built.keys())
        return CorpusChange(added=len(now.keys() - built.keys()), removed=len(built.keys() - now.keys()),
                            changed=changed)

    def text_changed(self) -> str:
        """Why the live build's passages are not what this program would cut from the same files, or ""."""
        built = self._data.manifest.get("text_version", 0) if self._data is not None else TEXT_VERSION
        if built == TEXT_VERSION:
            return ""
        return "The index's passages were cut by an older version of the cleaning and sentence splitting"

    def rules_changed(self) -> str:
        """Why the live build no longer matches the build-time rules switched off (``BOT_RULES_OFF``), or ""
        when it does. A build from before the rules were recorded had every rule on."""
        built = tuple((self._data.manifest.get("build_rules_off") or []) if self._data is not None else [])
        now = self.rules.build_off
        if built == now:
            return ""
        return (f"The index was built with the build rules {', '.join(built) or 'none'} off and BOT_RULES_OFF "
                f"now switches off {', '.join(now) or 'none'}")

    def ensure_index(self, progress: bool = True, notify: Callable[[str], None] = log.info) -> BuildReport | None:
        """Load the index, building it first when it is missing, outdated, made with other build-time rules
        or the corpus changed; ``notify`` hears why before the build starts (a door prints it)."""
        try:
            self.load()
        except IndexMissing:
            notify(f"No index yet: building it from {self.settings.corpus_dir}")
            return self.build(progress=progress)
        except IndexOutdated:
            notify("The index was written by an older version of this program: rebuilding it")
            return self.build(progress=progress)
        # a mistyped or unmounted corpus folder is said as such, not as every article removed
        _require_folder(self.settings.corpus_dir)
        why = self.rules_changed()
        if why:
            notify(f"{why}: rebuilding it")
            return self.build(progress=progress)
        change = self.is_stale()
        if change:
            notify(change.describe()[:1].upper() + change.describe()[1:])
            return self.build(progress=progress)
        older = self.text_changed()
        if older:  # served as it is: at a million passages a rebuild is an operator's decision, not a start-up's
            notify(f"{older}; it is served as it is. {INDEX_AGAIN}")
        return None

    def reload_if_changed(self) -> bool:
        """Pick up an index published by another process; the old one serves until then."""
        cur = self.store.current()
        if cur is None or (self._data is not None and cur == self._data.version):
            return False
        self.load()
        # served all the same: it is the live build
        for why, then in ((self.text_changed(), INDEX_AGAIN), (self.rules_changed(), "The next start rebuilds it.")):
            if why:
                log.warning("the build just picked up differs from this process's settings: %s. %s", why, then)
        return True

    def sources(self) -> list[Source]:
        self._require()
        return list(self._data.sources)

    def _require(self) -> tuple[Snapshot, Searcher]:
        with self._lock:
            data, searcher = self._data, self._searcher
        if data is None or searcher is None:
            raise IndexMissing("the index is not loaded; run `newsbot index` first")
        return data, searcher

    # -- answering ----------------------------------------------------------------------------

    def clean_question(self, question: str) -> tuple[str, str]:
        """(usable question, notice for the user); an empty question means do not search."""
        return clean_question(question, self.settings)

    def answer(self, question: str) -> Answer:
        """Answer one question from the indexed articles."""
        text, notice = self.clean_question(question)
        if not text:
            self._require()
            return Answer(question or "", declined=True, declined_reason=UNUSABLE, notice=notice)
        answer = compose(question, self.evidence(text), self.settings.top_k, self.policy,
                         self._require()[1].readable, self.rules, self.calibration, self.settings.hedge_below)
        return replace(answer, notice=notice) if notice else answer

    def evidence(self, text: str) -> Evidence:
        """Ranked passages for a cleaned question (search, then the optional reranker)."""
        data, searcher = self._require()
        text = searcher.normalise(text)
        core = self.rules.use("core")(text)
        # side by side on two cores; each text runs alone through the model, so its vector is the same
        # whether it is batched with its core, with other users' questions, or asked alone
        vecs = self._queries.encode_many([text, core] if core != text else [text])
        if vecs[0].shape[0] != data.manifest.get("dim"):
            raise IndexProblem("the embedding model's dimension differs from the index; run `newsbot index`")
        evidence = searcher.search(text, vecs[0], vecs[1] if len(vecs) > 1 else None)
        if self.reranker is not None:
            evidence = self.reranker.rerank(evidence)
        return evidence
