"""Typed records that cross module boundaries: articles, passages, answers.

Everything stored on disk has ``to_dict``/``from_dict`` so the index metadata is
plain JSON (never pickle).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class Block:
    """A run of kept text; ``text == original[start:start + len(text)]``."""

    text: str
    start: int


@dataclass(frozen=True)
class Article:
    """One cleaned corpus file: its kept blocks plus the metadata the page states."""

    file: str
    title: str
    date: str
    outlet: str
    sha256: str
    blocks: tuple[Block, ...]
    byline: Block | None = None  # "By Jane Doe", "Chinese ambassador to KazakhstanZhang Xiao" as the page has it
    author: str = ""  # the name the byline ends in ("Zhang Xiao")
    url: str = ""  # the page's canonical address, when it came from the web (front matter or HTML); "" otherwise

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


@dataclass(frozen=True)
class Sentence:
    """A sentence with character offsets into the original file."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A window of consecutive sentences of one article, with its citation."""

    id: str
    file: str
    title: str
    date: str
    outlet: str
    start: int
    end: int
    sentences: tuple[Sentence, ...]
    byline: str = ""  # the article's byline line, as the page has it; "" when it has none
    author: str = ""  # the name it ends in
    url: str = ""  # the article's web address, so a citation can link to the page; "" when unknown

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def context_text(self) -> str:
        """What is embedded and BM25-indexed: the headline gives every passage its topic."""
        return f"{self.title}. {self.text}" if self.title else self.text

    def to_dict(self) -> dict:
        # shallow: ``asdict`` would copy every sentence into a dict first (most of writing an index's passages)
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["sentences"] = [[s.text, s.start, s.end] for s in self.sentences]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Passage":
        sents = tuple(Sentence(t, int(a), int(b)) for t, a, b in d["sentences"])
        return cls(
            id=d["id"], file=d["file"], title=d["title"], date=d["date"],
            outlet=d["outlet"], start=int(d["start"]), end=int(d["end"]), sentences=sents,
            byline=d.get("byline", ""), author=d.get("author", ""), url=d.get("url", ""),
        )


@dataclass(frozen=True)
class Source:
    """An indexed article as listed by ``/sources``."""

    file: str
    title: str
    date: str
    outlet: str
    passages: int
    names: tuple[str, ...] = ()  # the full names its lead sentence gives: whom the article is about

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        return cls(d["file"], d["title"], d["date"], d["outlet"], int(d["passages"]), tuple(d.get("names", ())))


@dataclass(frozen=True)
class Hit:
    """A ranked passage, the sentence in it that best answers, and the excerpt shown.

    ``text`` is the passage trimmed to the display limit around ``sentence``; ``before`` and
    ``after`` are the sentences either side of it in the passage ("" at its edges), so a
    reply with little room can show the answer in its context rather than the whole passage.
    """

    passage: Passage
    score: float
    sentence: str
    text: str
    before: str = ""
    after: str = ""

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "text": self.text, "file": p.file, "title": p.title, "date": p.date,
            "outlet": p.outlet, "url": p.url, "score": round(float(self.score), 4), "sentence": self.sentence,
        }


UNUSABLE = "unusable question"
# said above an answer whose confidence is under ``Settings.hedge_below``: a passage is close to the question,
# but of such answers only 0.64 (held-out) and 0.32 (cross-corpus) had the right passage first, against 0.80 and
# 0.69 of the rest (docs/quality.md, "Saying when it is not sure")
HEDGE = "Not sure the articles answer this. The closest they come:"


@dataclass(frozen=True)
class Answer:
    """What the engine returns for one question; every interface renders this.

    ``declined`` is True when the articles hold no answer (``declined_reason``
    says why) or when the question could not be used at all (``notice`` then
    holds the message for the user, e.g. an empty or non-English question).
    """

    question: str
    passages: tuple[Hit, ...] = ()
    answer_sentence: str = ""
    declined: bool = False
    declined_reason: str = ""
    notice: str = ""
    debug: dict = field(default_factory=dict, compare=False)
    more: tuple[Hit, ...] = ()  # the passages ranked next after ``passages``, for a "More" button
    confidence: float = 0.0  # chance the first passage holds the answer (calibrated, answer/confidence.py); 0 when declined
    hedged: bool = False  # confidence under the settings' line: shown under ``HEDGE``, as the closest match

    @property
    def unusable(self) -> bool:
        """The question itself could not be searched (empty, no words, other script)."""
        return self.declined and self.declined_reason == UNUSABLE

    def to_dict(self) -> dict:
        return {
            "q": self.question,
            "declined": self.declined,
            "declined_reason": self.declined_reason,
            "notice": self.notice,
            "answer_sentence": self.answer_sentence,
            "confidence": self.confidence,
            "hedged": self.hedged,
            "passages": [h.to_dict() for h in self.passages],
            "more": [h.to_dict() for h in self.more],
        }


@dataclass(frozen=True)
class Skipped:
    """A corpus file left out of the index, and why."""

    file: str
    reason: str


@dataclass(frozen=True)
class BuildReport:
    """Summary of an index build, printed by the ``index`` command."""

    files: int
    passages: int
    skipped: tuple[Skipped, ...]
    seconds: float
    embedded: int = 0
    reused: int = 0


@dataclass(frozen=True)
class CorpusChange:
    """What changed in the corpus folder since the live build; false when nothing did.

    >>> CorpusChange(changed=2, removed=1).describe()
    '2 articles changed and 1 was removed: updating the index'
    """

    added: int = 0
    changed: int = 0
    removed: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe(self) -> str:
        """One line saying why the index is rebuilt, for the doors to print before building;
        the first count names the noun, the others lean on it ("2 articles changed and 1 was removed")."""
        verbs = (("was added", "were added", self.added), ("changed", "changed", self.changed),
                 ("was removed", "were removed", self.removed))
        parts = [f"{n} {one if n == 1 else many}" for one, many, n in verbs if n]
        if not parts:
            return "the corpus is unchanged"
        first, n = parts[0].split(" ", 1), next(c for _, _, c in verbs if c)
        parts[0] = f"{first[0]} {'article' if n == 1 else 'articles'} {first[1]}"
        said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"{said}: updating the index"
