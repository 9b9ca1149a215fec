"""The one object every door shares: build, load, answer, sources.

>>> engine = Engine(Settings.from_env())
>>> engine.ensure_index()          # loads, or builds when missing or stale
>>> engine.answer("when were diplomatic relations established?").answer_sentence
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import unicodedata
from dataclasses import replace
from pathlib import Path

import numpy as np

from .answer import DeclinePolicy, compose
from .articles import list_corpus, load_articles
from .embedder import Embedder
from .errors import CorpusProblem, IndexMissing, IndexProblem
from .lexical import Lexical
from .passages import make_passages
from .rerank import Reranker
from .schema import UNUSABLE, Answer, BuildReport, Source
from .search import Evidence, Searcher, Weights
from .settings import DEFAULT_MODEL, Settings
from .store import IndexData, Store

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "When were diplomatic relations between China and Kazakhstan established?"
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def text_key(text: str) -> str:
    """Content hash used to reuse embeddings of unchanged text across builds."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _fingerprint(folder: Path) -> dict[str, dict]:
    out = {}
    for path in list_corpus(folder):
        try:
            st = path.stat()
        except OSError:
            continue
        out[path.relative_to(folder).as_posix()] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return out


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return latin / len(letters)


class Engine:
    """Question answering over the indexed articles; thread-safe ``answer``."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 weights: Weights = Weights(), policy: DeclinePolicy = DeclinePolicy()):
        self.settings = settings or Settings.from_env()
        self.embedder = embedder or Embedder(self.settings.model, self.settings.batch_size)
        self.store = Store(self.settings.index_dir)
        self.weights = weights
        self.policy = policy
        self.reranker = Reranker(self.settings.reranker) if self.settings.reranker else None
        self._data: IndexData | None = None
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()

    # -- building -----------------------------------------------------------------------------

    def build(self, progress: bool = True) -> BuildReport:
        """Read, clean, split and embed the corpus, then publish a new index atomically."""
        started = time.perf_counter()
        folder = self.settings.corpus_dir
        if not folder.is_dir():
            raise CorpusProblem(f"the corpus folder {folder} does not exist; create it or set BOT_CORPUS_DIR")
        fingerprint = _fingerprint(folder)
        articles, skipped = load_articles(folder)
        if not articles:
            why = "; ".join(f"{s.file}: {s.reason}" for s in skipped) or "no .txt or .md files"
            raise CorpusProblem(f"no usable articles in {folder} ({why})")
        passages = [p for a in articles for p in make_passages(
            a, self.settings.passage_min_words, self.settings.passage_max_words)]
        p_texts = [p.context_text for p in passages]
        s_texts = [s.text for p in passages for s in p.sentences]
        cache = self._vector_cache()
        vectors, embedded = self._embed(p_texts + s_texts, cache, progress)
        p_vecs, s_vecs = vectors[: len(p_texts)], vectors[len(p_texts):]
        sources = [Source(a.file, a.title, a.date, a.outlet, sum(p.file == a.file for p in passages))
                   for a in articles]
        manifest = {
            "model": self.settings.model,
            "dim": int(p_vecs.shape[1]),
            "index_type": "flat-ip",
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 2),
            "corpus": {a.file: {"sha256": a.sha256, **fingerprint.get(a.file, {})} for a in articles},
            "fingerprint": fingerprint,
            "skipped": [{"file": s.file, "reason": s.reason} for s in skipped],
            "sources": [s.to_dict() for s in sources],
            "text_keys": [text_key(t) for t in p_texts + s_texts],
        }
        self.store.write(passages, p_vecs, s_vecs, Lexical.build(p_texts), manifest)
        self.load()
        return BuildReport(len(articles) + len(skipped), len(passages), tuple(skipped),
                           time.perf_counter() - started, embedded=embedded,
                           reused=len(p_texts) + len(s_texts) - embedded)

    def _vector_cache(self) -> dict[str, np.ndarray]:
        """Vectors of the live index keyed by text hash, when built with the same model."""
        try:
            data = self._data or self.store.load(self.settings.model)
        except IndexProblem:
            return {}
        keys = data.manifest.get("text_keys", [])
        n = data.vectors.ntotal
        if len(keys) != n + len(data.sentence_vectors):
            return {}
        cache = {k: data.vectors.reconstruct(i) for i, k in enumerate(keys[:n])}
        cache.update(zip(keys[n:], data.sentence_vectors))
        return cache

    def _embed(self, texts: list[str], cache: dict[str, np.ndarray], progress: bool) -> tuple[np.ndarray, int]:
        keys = [text_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
        if missing:
            fresh = self.embedder.encode([t for _, t in missing], progress=progress)
            cache = {**cache, **{k: v for (k, _), v in zip(missing, fresh)}}
        dim = next(iter(cache.values())).shape[0] if cache else self.embedder.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = cache[k]
        return out, len(missing)

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the live index; raises ``IndexProblem`` with what to run."""
        data = self.store.load(self.settings.model)
        searcher = Searcher(data, self.weights)
        with self._lock:
            self._data, self._searcher = data, searcher

    def is_stale(self) -> bool:
        """True when corpus files were added, removed or changed since the live build."""
        data = self._data
        if data is None:
            return True
        return _fingerprint(self.settings.corpus_dir) != data.manifest.get("fingerprint")

    def ensure_index(self, progress: bool = True) -> BuildReport | None:
        """Load the index, building it first when it is missing or the corpus changed."""
        try:
            self.load()
        except IndexMissing:
            return self.build(progress=progress)
        if self.is_stale():
            log.info("the corpus changed since the last build; rebuilding")
            return self.build(progress=progress)
        return None

    def reload_if_changed(self) -> bool:
        """Pick up an index published by another process; the old one serves until then."""
        cur = self.store.current()
        if cur is None or (self._data is not None and cur == self._data.path):
            return False
        self.load()
        return True

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def sources(self) -> list[Source]:
        self._require()
        return list(self._data.sources)

    def _require(self) -> tuple[IndexData, Searcher]:
        with self._lock:
            data, searcher = self._data, self._searcher
        if data is None or searcher is None:
            raise IndexMissing("the index is not loaded; run `newsbot index` first")
        return data, searcher

    # -- answering ----------------------------------------------------------------------------

    def clean_question(self, question: str) -> tuple[str, str]:
        """(usable question, notice for the user); an empty question means do not search."""
        text = _INVISIBLE.sub(" ", question or "")
        text = " ".join(text.split())
        if not text:
            return "", f"Please type a question, for example: {EXAMPLE_QUESTION}"
        if not any(c.isalnum() for c in text):
            return "", f"I could not find any words in that. Try a question such as: {EXAMPLE_QUESTION}"
        notice = ""
        limit = self.settings.max_question_chars
        if len(text) > limit:
            text = text[:limit].rsplit(" ", 1)[0] or text[:limit]
            notice = f"Your message was long, so I used only its first {limit} characters."
        if self._english_only() and _latin_share(text) < 0.5:
            return "", "Sorry, I currently understand questions in English only. Please ask in English."
        return text, notice

    def _english_only(self) -> bool:
        scripts = self.settings.question_scripts
        if scripts == "auto":
            return self.settings.model.lower() in {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
        return scripts == "latin"

    def answer(self, question: str) -> Answer:
        """Answer one question from the indexed articles."""
        text, notice = self.clean_question(question)
        if not text:
            self._require()
            return Answer(question or "", declined=True, declined_reason=UNUSABLE, notice=notice)
        answer = compose(question, self.evidence(text), self.settings.top_k, self.policy)
        return replace(answer, notice=notice) if notice else answer

    def evidence(self, text: str) -> Evidence:
        """Ranked passages for a cleaned question (search, then the optional reranker)."""
        data, searcher = self._require()
        text = searcher.normalise(text)
        qvec = self.embedder.encode([text])[0]
        if qvec.shape[0] != data.manifest.get("dim"):
            raise IndexProblem("the embedding model's dimension differs from the index; run `newsbot index`")
        evidence = searcher.search(text, qvec)
        if self.reranker is not None:
            evidence = self.reranker.rerank(evidence)
        return evidence
