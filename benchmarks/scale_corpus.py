"""Generated corpora for the performance benchmarks (never committed; written under ``benchmarks/.data/``).

Articles are recombined from the sentences of the shipped articles. Per article, every
capitalised word (people, places, outlets) is replaced by a generated name and every
number by another of the same shape, so texts differ, the vocabulary grows like an
archive's, and BM25 posting lists have realistic lengths. Article lengths follow a
log-normal around ~600 words; the engine's own splitter turns them into ~110-word passages.

For 100k and 1M passages the vectors come from ``PoolEmbedder``: real-model embeddings of
a pool of generated passages, each scale text mapped by its content hash to one pool
vector plus Gaussian noise, re-normalised (cosine ~0.9 to the pool vector). That is far
cheaper than encoding every text, and is stated in the benchmark's output.

>>> bank = SentenceBank.from_folder(Path("seeds"))
>>> gen = ArticleGenerator(bank, seed=1)
>>> text = gen.text(0)            # one article file, deterministic in (seed, 0)
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.ingest.articles import Cleaner, load_articles
from retrieval.text.words import STOPWORDS
from retrieval.split import split_sentences
from retrieval.types import Article, Block

GENERATOR_VERSION = 1

_CAPITAL = re.compile(r"\b[A-Z][A-Za-z'\-]*[a-z][A-Za-z'\-]*\b")
_NUMBER = re.compile(r"\b\d+\b")
_KEEP = {w.capitalize() for w in STOPWORDS} | {
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    "Mr", "Mrs", "Ms", "Dr", "President", "Minister", "Chinese", "According", "Since", "However", "Over",
}
_ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "r", "s",
           "sh", "st", "t", "tr", "v", "w", "z", "al", "el", "or", "an", "as", "ul"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ia", "ou", "ei", "ar", "en", "ol"]
_CODAS = ["", "n", "r", "s", "l", "m", "k", "nd", "st", "sk", "t", "v"]


def make_names(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct pronounceable names (2-3 syllables), deterministic in ``seed``."""
    rng = np.random.default_rng([seed, 7])
    out: list[str] = []
    seen: set[str] = set()
    for _ in range(count * 20):  # bounded: far more attempts than names needed
        if len(out) >= count:
            break
        n = int(rng.integers(2, 4))
        name = "".join(_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
                       for _ in range(n)) + _CODAS[rng.integers(len(_CODAS))]
        if name not in seen and len(name) >= 4:
            seen.add(name)
            out.append(name.capitalize())
    return out


@dataclass(frozen=True)
class Template:
    """A sentence as a format string; slot i is a capitalised word (by global id) or a number."""

    fmt: str
    names: tuple[int, ...]    # global name-slot ids, in placeholder order
    numbers: tuple[str, ...]  # original numbers, in placeholder order (after the names)
    words: int


class SentenceBank:
    """Sentences of the shipped articles, compiled into templates with replaceable words."""

    def __init__(self, sentences: list[str]):
        self.slots: dict[str, int] = {}
        self.templates: list[Template] = []
        for s in sentences:
            self.templates.append(self._compile(s))
        self.words = np.array([t.words for t in self.templates])

    @classmethod
    def from_folder(cls, folder: Path) -> "SentenceBank":
        articles, _ = load_articles(folder)
        sentences = []
        for a in articles:
            for b in a.blocks:
                if b.text == a.title:
                    continue
                for s in split_sentences(b.text):
                    if 6 <= len(s.text.split()) <= 60 and s.text[-1] in ".!?\"”":
                        sentences.append(s.text)
        return cls(sorted(set(sentences)))

    def _compile(self, sentence: str) -> Template:
        names: list[int] = []
        numbers: list[str] = []
        parts: list[tuple[str, str]] = []  # (kind, text)
        pos = 0
        spans = sorted([(m.start(), m.end(), "name") for m in _CAPITAL.finditer(sentence) if m.group(0) not in _KEEP]
                       + [(m.start(), m.end(), "number") for m in _NUMBER.finditer(sentence)])
        for a, b, kind in spans:
            if a < pos:
                continue
            parts.append(("text", sentence[pos:a]))
            parts.append((kind, sentence[a:b]))
            pos = b
        parts.append(("text", sentence[pos:]))
        fmt, n_names = [], sum(1 for k, _ in parts if k == "name")
        i_name, i_num = 0, 0
        for kind, text in parts:
            if kind == "text":
                fmt.append(text.replace("{", "{{").replace("}", "}}"))
            elif kind == "name":
                names.append(self.slots.setdefault(text, len(self.slots)))
                fmt.append("{%d}" % i_name)
                i_name += 1
            else:
                numbers.append(text)
                fmt.append("{%d}" % (n_names + i_num))
                i_num += 1
        return Template("".join(fmt), tuple(names), tuple(numbers), len(sentence.split()))


def _other_number(rng: np.random.Generator, original: str) -> str:
    if len(original) == 4 and original[:2] in ("19", "20"):
        return str(int(rng.integers(1950, 2026)))
    if len(original) <= 2:
        return str(int(rng.integers(1, 60 if len(original) == 2 else 10)))
    low = 10 ** (len(original) - 1)
    return str(int(rng.integers(low, low * 10)))


class ArticleGenerator:
    """Deterministic article ``i`` of a generated archive (text of one corpus file)."""

    def __init__(self, bank: SentenceBank, seed: int = 0, names: int = 40_000, outlets: int = 400):
        self.bank = bank
        self.seed = seed
        self.names = make_names(names, seed)
        self.outlets = [" ".join(p) for p in zip(self.names[:outlets], ["News", "Daily", "Times", "Post"] * outlets)]
        # names are drawn Zipf-like: a few very common (capitals, leaders), a long tail of rare ones
        ranks = np.arange(1, len(self.names) + 1)
        p = 1.0 / (ranks + 20.0)
        self._name_p = np.cumsum(p / p.sum())

    def parts(self, i: int, changed: int = 0) -> tuple[str, str, str, list[str]]:
        """(title, outlet, dateline, paragraphs) of article ``i``; ``changed`` > 0 alters one paragraph."""
        rng = np.random.default_rng([self.seed, i])
        bank = self.bank
        draw = np.searchsorted(self._name_p, rng.random(len(bank.slots)))
        names = [self.names[min(j, len(self.names) - 1)] for j in draw]
        target = int(np.clip(rng.lognormal(np.log(560), 0.45), 220, 1600))
        picks: list[int] = []
        words = 0
        while words < target and len(picks) < 400:
            t = int(rng.integers(len(bank.templates)))
            picks.append(t)
            words += int(bank.words[t])
        sentences = []
        for t in picks:
            tpl = bank.templates[t]
            values = [names[s] for s in tpl.names] + [_other_number(rng, n) for n in tpl.numbers]
            sentences.append(tpl.fmt.format(*values))
        paragraphs, k = [], 0
        while k < len(sentences):
            n = int(rng.integers(1, 5))
            paragraphs.append(" ".join(sentences[k:k + n]))
            k += n
        if changed:
            crng = np.random.default_rng([self.seed, i, changed])
            t = bank.templates[int(crng.integers(len(bank.templates)))]
            values = [names[s] for s in t.names] + [_other_number(crng, n) for n in t.numbers]
            paragraphs[len(paragraphs) // 2] = t.fmt.format(*values) + " " + paragraphs[len(paragraphs) // 2]
        head = [w for w in bank.templates[picks[0]].fmt.format(*(
            [names[s] for s in bank.templates[picks[0]].names] + ["" for _ in bank.templates[picks[0]].numbers]
        )).split() if w.strip(string.punctuation)]
        title = " ".join(head[: int(rng.integers(6, 13))]).rstrip(",.;:!?\"'”") or f"Report {i}"
        outlet = self.outlets[int(rng.integers(len(self.outlets)))]
        day = np.datetime64("2015-01-01") + int(rng.integers(0, 3650))
        dateline = f"{outlet} {day} {int(rng.integers(6, 23)):02d}:{int(rng.integers(0, 60)):02d}"
        return title, outlet, dateline, paragraphs

    def text(self, i: int, changed: int = 0) -> str:
        title, _, dateline, paragraphs = self.parts(i, changed)
        return self._join(title, dateline, paragraphs)

    @staticmethod
    def _join(title: str, dateline: str, paragraphs: list[str]) -> str:
        return "\n".join([title, dateline, ""] + [p + "\n" for p in paragraphs])

    def questions(self, count: int, first_article: int = 0) -> list[str]:
        """Keyword-style questions (5-9 words of a sentence) about articles ``first_article...``."""
        out = []
        for i in range(first_article, first_article + count):
            rng = np.random.default_rng([self.seed, i, 99])
            _, _, _, paragraphs = self.parts(i)
            words = paragraphs[int(rng.integers(len(paragraphs)))].split()
            n = int(rng.integers(5, 10))
            start = int(rng.integers(0, max(1, len(words) - n)))
            out.append(" ".join(words[start:start + n]).strip(string.punctuation + "“”’") + "?")
        return out

    def write(self, folder: Path, count: int) -> list[Path]:
        """Write articles ``0..count-1`` as files; returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(count):
            path = folder / f"{i:07d}.txt"
            path.write_text(self.text(i), encoding="utf-8")
            paths.append(path)
        return paths

    def article(self, i: int) -> Article:
        """Article ``i`` as the engine's cleaner reads its file, built directly (no file, no cleaning).

        ``cleaned`` checks the equivalence; building directly is ~3x cheaper, which matters at 1M passages.
        """
        return self.text_and_article(i)[1]

    def text_and_article(self, i: int) -> tuple[str, Article]:
        """The file text of article ``i`` and the article read from it, generated once (``text`` and
        ``article`` each generate it again)."""
        title, outlet, dateline, paragraphs = self.parts(i)
        text = self._join(title, dateline, paragraphs)
        blocks, pos = [], 0
        for line in text.split("\n"):
            if line and line != "":
                blocks.append(Block(line, pos))
            pos += len(line) + 1
        return text, Article(f"{i:07d}.txt", title, dateline.split()[-2], outlet,
                             hashlib.sha256(text.encode("utf-8")).hexdigest(), tuple(blocks))

    def cleaned(self, i: int) -> Article:
        """Article ``i`` cleaned by the engine's own cleaner from its file text."""
        text = self.text(i)
        return Cleaner().clean(f"{i:07d}.txt", text, hashlib.sha256(text.encode("utf-8")).hexdigest())


class PoolEmbedder:
    """Cheap stand-in for the model at 100k/1M passages: pool vector + noise, keyed by text hash.

    ``pool`` holds real-model embeddings of generated passages. A text's sha1 picks its
    pool vector and its noise (a Gaussian bank vector with a per-text sign pattern), so the
    same text always gets the same vector, as with a real model.
    """

    def __init__(self, pool: np.ndarray, model_identity: str, sigma: float = 0.5, seed: int = 0):
        self.pool = np.ascontiguousarray(pool, dtype=np.float32)
        rng = np.random.default_rng([seed, 11])
        d = self.pool.shape[1]
        self._noise = (rng.standard_normal((4096, d)) / np.sqrt(d)).astype(np.float32)
        self._signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(4096, d))
        self.sigma = sigma
        self.name = f"pool-noise({model_identity}, {len(self.pool)} vectors)"

    @property
    def dim(self) -> int:
        return int(self.pool.shape[1])

    @property
    def identity(self) -> str:
        return f"{self.name}|sigma={self.sigma}|v{GENERATOR_VERSION}"

    def encode(self, texts: list[str], progress: bool = False, dtype=np.float32) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=dtype)
        bar = None
        if progress and len(texts) > 65536:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), unit="text", desc="vectors (pool + noise)", smoothing=0.1)
        for start in range(0, len(texts), 65536):
            chunk = texts[start:start + 65536]
            h = np.frombuffer(b"".join(hashlib.sha1(t.encode("utf-8")).digest()[:12] for t in chunk),
                              dtype=np.uint32).reshape(-1, 3)
            v = self.pool[h[:, 0] % len(self.pool)]
            v += self.sigma * self._noise[h[:, 1] % 4096] * self._signs[h[:, 2] % 4096]
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            out[start:start + len(chunk)] = v
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return out
