"""Corpus files -> cleaned ``Article`` records.

The articles are scraped web pages. Cleaning is structural, not a list of the
phrases seen in the shipped files: prose lines are kept, and so are the lines
that carry the page's metadata (title, dateline, source); navigation, widgets,
link lists, contact lines and lines repeated across files are dropped.
Offsets are character offsets into the decoded file, so citations can point
back at the original text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.ingest.formats import HTML_SUFFIXES, for_cleaner, with_metadata
from retrieval.ingest.metadata import iso_date, proper_name, stated_date
from retrieval.progress import stage
from retrieval.rules import Rules
from retrieval.types import Article, Block, Skipped

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md") + HTML_SUFFIXES
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
ISO_DATE = re.compile(r"\b((?:19|20)\d\d)[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])\b")
LONG_DATE = re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b")
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_BULLET = re.compile(r"^[\s•·▪◦●■\-\*–—>]+")
_SOURCE = re.compile(r"^(?:source|from|via)\s*[:：]\s*(?P<outlet>.{2,60}?)\s*$", re.I)
_CONTACT = re.compile(
    r"^(?:tel|telephone|phone|fax|mobile|e-?mail|address|addr|post\s*code|zip(?:\s*code)?|"
    r"copyright|©|all rights reserved|icp)\b|@\w+\.\w+|\+?\d[\d\s\-()]{7,}\d", re.I
)
_PHOTO = re.compile(r"^(?:photo|photos|image|picture|pic|file photo)\b.{0,80}\b(?:by|courtesy|credit)", re.I)
_BREADCRUMB = re.compile(r"(?:\s[>»›|/]\s?.*){2,}|^[^.!?]{0,40}\|[^.!?]{0,40}$|^your location", re.I)
# "Nur-Sultan, June 6 (Xinhua)", "ALMATY, March 14, 2024 (Xinhua)"
_DATELINE_PAREN = re.compile(
    rf"^(?P<place>[A-Z][\w\-' ]{{1,30}}),\s*(?P<date>{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d\d)?)"
    rf"\s*\((?P<outlet>[^)]{{2,40}})\)"
)
# "China News Service, Nur-Sultan, May 29th."
_DATELINE_OUTLET = re.compile(
    rf"^(?P<outlet>[A-Z][\w&'. ]{{2,40}}),\s*(?P<place>[A-Z][\w\-' ]{{1,30}}),\s*(?P<date>{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?)\b"
)
# the words a byline opens with ("By Jane Doe", "Editor/Ma Xue"); search.py's byline shape uses them too
BYLINE_WORDS = r"editor|edited by|author|written by|reporter|correspondent|writer|by"
# scraped pages drop the space between a line's last word and the next ("KazakhstanZhang Xiao")
_GLUED = re.compile(r"(?<=[a-z]{3})(?=[A-Z][a-z])")
_GLUED_WORD = re.compile(r"\b[A-Za-z]*[a-z]{3}[A-Z][A-Za-z]*\b")
TERMINAL = re.compile(r"[.!?。！？][\"'”’)\]]*\s*$|[.!?][\"'”’)]*(?=\S)")


@dataclass(frozen=True)
class _Line:
    text: str
    start: int

    @property
    def words(self) -> int:
        return len(self.text.split())


def list_corpus(folder: Path, skipped: list[Skipped] | None = None) -> list[Path]:
    """Every article file under ``folder``; symlinks leading outside are not followed (noted in ``skipped``)."""
    root = folder.resolve()
    out = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in SUFFIXES:
            continue
        try:
            real = path.resolve()
        except OSError:
            continue
        if path.is_symlink() and root not in real.parents:
            if skipped is not None:  # load_articles reports it with the other skipped files
                skipped.append(Skipped(path.relative_to(folder).as_posix(),
                                       "symlink to a file outside the corpus folder (not followed)"))
            continue
        if real.is_file():
            out.append(path)
    return out


def read_text(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str] | Skipped:
    """(text, sha256) of a file, or a ``Skipped`` saying why it cannot be used."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Skipped(name, f"too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB)")
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(name, f"unreadable ({exc.strerror or exc})")
    if not data.strip():
        return Skipped(name, "empty file")
    if b"\x00" in data[:8192]:
        return Skipped(name, "binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(name, f"not UTF-8 (invalid byte at offset {exc.start}); re-save it as UTF-8")
    return text, hashlib.sha256(data).hexdigest()


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        m = _BULLET.match(body)
        lead = m.end() if m else 0
        stripped = body[lead:].rstrip()
        out.append(_Line(stripped, pos + lead))
        pos += len(raw)
    return out


def _norm(line: str) -> str:
    return re.sub(r"\W+", " ", line.lower()).strip()


def _is_prose(line: _Line) -> bool:
    return line.words >= 20 or (line.words >= 4 and bool(TERMINAL.search(line.text)))


def _is_junk_pattern(text: str) -> bool:
    return bool(_CONTACT.search(text) or _BREADCRUMB.search(text) or _PHOTO.match(text))


def date_in(text: str) -> str:
    m = ISO_DATE.search(text)
    if m:
        y, mo, d = m.groups()
        return f"{y}-{int(mo):02d}-{int(d):02d}"
    m = LONG_DATE.search(text)
    return m.group(0) if m else ""


def opening_dateline(text: str) -> re.Match | None:
    """The dateline ``text`` opens with, in either form, with its place, date and outlet groups."""
    return _DATELINE_PAREN.match(text) or _DATELINE_OUTLET.match(text)


def without_dateline(text: str) -> str:
    """``text`` without the dateline it opens with (place, date and outlet): when and where the story
    was filed, not a fact the sentence states."""
    m = opening_dateline(text)
    return text[m.end():] if m else text


def unglue(text: str, is_word: Callable[[str], bool] | None = None) -> str:
    """``text`` with the spaces scraping lost put back between words ("KazakhstanZhang" -> "Kazakhstan Zhang");
    with ``is_word``, only where every half is a word ("PetroChina" stays whole unless "Petro" is one)."""
    if is_word is None:
        return _GLUED.sub(" ", text)

    def split(m: re.Match) -> str:
        parts = _GLUED.split(m.group(0))
        return " ".join(parts) if all(is_word(p) for p in parts) else m.group(0)

    return _GLUED_WORD.sub(split, text)


def leftover_words(text: str) -> str:
    """What a date line says besides the date and time (an outlet name, or nothing)."""
    rest = ISO_DATE.sub(" ", LONG_DATE.sub(" ", text))
    rest = TIME_OF_DAY.sub(" ", rest)
    words = [w for w in re.findall(r"[^\W\d_][\w&'.-]*", rest) if w.lower() not in {"by", "on", "at", "updated", "published", "posted", "time", "date"}]
    return " ".join(words)


def is_metadata_line(text: str) -> bool:
    """Is ``text`` one of the page's metadata lines the cleaner keeps (a date line with at most an outlet
    and a time beside the date, or a "Source: ..." line) rather than a sentence of the story?"""
    words = len(text.split())
    if _SOURCE.match(text) and words <= 10:
        return True
    return (words <= 8 and bool(date_in(text)) and not TERMINAL.search(text)
            and len(leftover_words(text).split()) <= 3)


class Cleaner:
    """Turns one decoded page into an ``Article``; ``repeated`` holds lines seen in other files.

    What the page's wording says about the article (its byline, its date lines, the dateline opening
    the story) is read by the ingest rules of the registry (``ingest/rules/``), so ``rules`` can switch
    each off.
    """

    def __init__(self, repeated: "RepeatedLines | frozenset[str]" = frozenset(), rules: Rules = Rules()):
        self.repeated = repeated
        self.date_line = rules.use("date_lines")
        self.byline_author = rules.use("bylines")
        self.opening = rules.use("datelines")

    def clean(self, file: str, text: str, sha256: str) -> Article | Skipped:
        lines = [ln for ln in _lines(text) if ln.text]
        title_i, title = self._title(lines)
        date = outlet = author = ""
        byline: Block | None = None
        blocks: list[Block] = []
        has_prose = any(_is_prose(ln) for ln in lines)
        body_from = len(lines)  # the first paragraph after the headline; a byline sits before it
        if title_i >= 0:
            body_from = next((i for i in range(title_i + 1, len(lines)) if _is_prose(lines[i])), len(lines))
        for i, ln in enumerate(lines):
            t = ln.text
            if i == title_i:
                blocks.append(Block(t, ln.start))
                continue
            if title and i > title_i and _norm(title).startswith(_norm(t)):
                continue  # a truncated repeat of the headline
            src = _SOURCE.match(t)
            if src and ln.words <= 10:
                outlet = outlet or src.group("outlet").strip(" .")
                blocks.append(Block(t, ln.start))
                continue
            if i < 15 and (stated := self.date_line(t)) is not None:
                date, outlet = date or stated.date, outlet or stated.outlet
                blocks.append(Block(t[stated.start:stated.end], ln.start + stated.start))
                continue
            if (title_i < i < body_from and not byline and not _is_junk_pattern(t)
                    and (name := self.byline_author(t)) is not None):
                byline, author = Block(t, ln.start), name
                continue
            if _norm(t) in self.repeated or _is_junk_pattern(t):
                continue
            if _is_prose(ln) or (not has_prose and ln.words >= 8):
                blocks.append(Block(t, ln.start))
        prose = [b for b in blocks if b.text != title]
        if not prose:
            return Skipped(file, "no article text left after removing page furniture")
        opened = self.opening(tuple(b.text for b in prose[:3]))
        date, outlet = date or opened.date, outlet or opened.outlet
        # the first full date near the top (a timestamp) gives the year a dateline leaves out ("May 29th")
        near = next(filter(None, (stated_date(date_in(ln.text)) for ln in lines[:15])), None)
        date, outlet = iso_date(date, near), proper_name(outlet)
        return Article(file, title or Path(file).stem, date, outlet, sha256, tuple(blocks), byline, author)

    def _title(self, lines: list[_Line]) -> tuple[int, str]:
        """The headline: the first early line that reads like one."""
        for i, ln in enumerate(lines[:15]):
            t = ln.text
            if _is_junk_pattern(t) or _norm(t) in self.repeated or date_in(t) or _SOURCE.match(t):
                continue
            if 4 <= ln.words <= 40 and not re.search(r"[.!?]\S", t):
                return i, t
        return -1, ""


class RepeatedLines:
    """Short lines found in two or more different files (site furniture), counted by an 8-byte hash of
    each normalised line, so a big corpus's first pass holds 8 bytes a line rather than its text.

    ``Cleaner`` asks ``_norm(line) in repeated``; two different lines share a hash with odds of
    about one in 10^7 at a million files' lines.
    """

    def __init__(self, max_words: int = 30):
        self.max_words = max_words
        self._seen: list[np.ndarray] = []  # each file's distinct line hashes
        self._repeated: frozenset[int] = frozenset()

    @staticmethod
    def _key(norm: str) -> int:
        return int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "little")

    def add(self, text: str) -> None:
        """Count the short lines of one more file's text."""
        keys = {self._key(k) for ln in _lines(text) if ln.text and ln.words <= self.max_words
                for k in (_norm(ln.text),) if k}
        self._seen.append(np.fromiter(keys, dtype=np.uint64, count=len(keys)))

    def settle(self) -> "RepeatedLines":
        """Decide which lines repeat (after the last ``add``); frees the per-file hashes."""
        if len(self._seen) >= 2:
            keys, counts = np.unique(np.concatenate(self._seen), return_counts=True)
            self._repeated = frozenset(keys[counts >= 2].tolist())
        self._seen = []
        return self

    def __contains__(self, norm: object) -> bool:
        return isinstance(norm, str) and bool(norm) and self._key(norm) in self._repeated

    def __len__(self) -> int:
        return len(self._repeated)


def repeated_lines(texts: list[str], max_words: int = 30) -> RepeatedLines:
    """Short lines found in two or more different files: site furniture."""
    found = RepeatedLines(max_words)
    for text in texts:
        found.add(text)
    return found.settle()


class Corpus:
    """A corpus folder read in two passes, so a build never holds every article's text.

    The first pass (``read_corpus``) reads each file once: skips what cannot be used, finds the
    lines repeated across files, and spools each file's text for the cleaner to a temporary file
    (an HTML page's extraction is not run twice, and a file edited meanwhile cannot differ between
    the passes). The second, ``articles()``, cleans the spooled texts one at a time.

    >>> with read_corpus(folder, progress=True) as corpus:
    ...     for article in corpus.articles():   # corpus.count files; corpus.skipped grows as it goes
    ...         ...
    """

    def __init__(self, spool, count: int, skipped: list[Skipped], repeated: RepeatedLines):
        self._spool, self.count, self.skipped, self.repeated = spool, count, skipped, repeated

    def articles(self, rules: Rules = Rules()) -> Iterator[Article]:
        """Each usable file's ``Article``, in corpus order; files the cleaner rejects join ``skipped``."""
        cleaner = Cleaner(self.repeated, rules)
        self._spool.seek(0)
        for line in self._spool:
            entry = json.loads(line)
            got = cleaner.clean(entry["file"], entry["text"], entry["sha256"])
            if isinstance(got, Skipped):
                self.skipped.append(got)
            else:
                yield with_metadata(got, entry["meta"])  # what the file states wins over the cleaner's guesses
        for s in self.skipped:
            log.warning("skipped %s: %s", s.file, s.reason)


@contextmanager
def read_corpus(folder: Path, max_bytes: int = DEFAULT_MAX_BYTES, progress: bool = False) -> Iterator[Corpus]:
    """The first pass over ``folder`` (see ``Corpus``); unusable files are reported, never fatal."""
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    repeated = RepeatedLines()
    count = 0
    with tempfile.TemporaryFile(prefix="newsbot-corpus-") as spool:
        for path in stage(list_corpus(folder, skipped), "reading", progress):
            rel = path.relative_to(folder).as_posix()
            got = read_text(path, max_bytes)
            if isinstance(got, Skipped):
                skipped.append(Skipped(rel, got.reason))
                continue
            text, sha = got
            if sha in seen:
                skipped.append(Skipped(rel, f"duplicate of {seen[sha]}"))
                continue
            seen[sha] = rel
            prepared = for_cleaner(rel, text)  # an HTML page's article, a Markdown file's front matter
            if isinstance(prepared, str):
                skipped.append(Skipped(rel, prepared))
                continue
            body, meta = prepared
            repeated.add(body)
            spool.write((json.dumps({"file": rel, "sha256": sha, "meta": meta, "text": body},
                                    ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1
        yield Corpus(spool, count, skipped, repeated.settle())


def load_articles(folder: Path, max_bytes: int = DEFAULT_MAX_BYTES, progress: bool = False,
                  rules: Rules = Rules()) -> tuple[list[Article], list[Skipped]]:
    """Read and clean every article file at once (a build streams ``read_corpus`` instead)."""
    with read_corpus(folder, max_bytes, progress) as corpus:
        articles = list(stage(corpus.articles(rules), "cleaning", progress, total=corpus.count))
    return articles, corpus.skipped
