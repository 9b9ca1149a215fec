"""Adding an article from a web page (or a saved HTML file) to the corpus folder as Markdown.

Two steps, so that bad input writes nothing: ``prepare`` fetches, extracts and
checks that the loader will find article text (every failure a ``FetchProblem``
with one line for the operator); ``write`` then puts the Markdown file in the
corpus atomically (a hidden temporary file in the same folder, then a rename),
so an index build running meanwhile sees the old file or the new, never half.

The file's name comes from the page's canonical URL, so adding a page again
(even by another address that names the same canonical one) replaces its file
instead of adding a second copy.

>>> ready = prepare("https://www.example.org/news/1", FetchLimits())   # doctest: +SKIP
>>> write(ready, Path("corpus")).file
'example-org-news-1-5d41402a.md'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from retrieval.errors import CorpusProblem
from retrieval.ingest import frontmatter
from retrieval.ingest.articles import Cleaner
from retrieval.ingest.fetch import FetchLimits, FetchProblem, fetch
from retrieval.ingest.formats import HTML_SUFFIXES, for_cleaner, with_metadata
from retrieval.ingest.html import Page, extract
from retrieval.types import Article, Skipped


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: "C:\\page.html" is a file


@dataclass(frozen=True)
class Prepared:
    """An article ready to be written: its file name, the file's text and the article the loader will read."""

    source: str  # what the operator named (URL or file)
    name: str
    text: str
    article: Article


@dataclass(frozen=True)
class Added:
    """An article written to the corpus; ``replaced`` when a file of that name was there already."""

    file: str
    article: Article
    replaced: bool


def file_name(url: str) -> str:
    """``host-path-<hash>.md`` from a canonical URL: readable, stable, and one per page.

    The scheme, a leading ``www.``, the fragment and a trailing slash do not change the name.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    key = f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:96].rstrip("-") or "page"
    return f"{slug}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}.md"


def prepare(source: str, limits: FetchLimits, now: dt.datetime | None = None) -> Prepared:
    """A page at an http(s) URL or a saved ``.html`` file, extracted and checked; nothing is written."""
    if Path(source).is_file() and not source.startswith(("http:", "https:")):
        return _from_file(Path(source))
    if not _SCHEME.match(source):
        raise FetchProblem(f"{source}: no such file, and not an http:// or https:// address")
    return _from_url(source, limits, now or dt.datetime.now(dt.timezone.utc))


def _from_url(url: str, limits: FetchLimits, now: dt.datetime) -> Prepared:
    got = fetch(url, limits)
    page = extract(got.content, got.url)
    if page is None:
        raise FetchProblem(f"{url}: no article text on the page (only navigation or other furniture)")
    stamp = {"fetched_at": now.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")}
    if url != page.url:
        stamp["fetched_from"] = url  # the address asked for, when the page names another: `watch` knows both
    return _prepared(url, file_name(page.url or got.url), page, stamp)


def _from_file(path: Path) -> Prepared:
    if path.suffix.lower() not in HTML_SUFFIXES:
        raise FetchProblem(f"{path}: only .html/.htm files and http(s) URLs can be added "
                           "(put .txt and .md articles in the corpus folder as they are)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FetchProblem(f"{path}: unreadable ({exc.strerror or exc})") from None
    page = extract(data)
    if page is None:
        raise FetchProblem(f"{path}: no article text in the page (only navigation or other furniture)")
    name = file_name(page.url) if page.url else f"{re.sub(r'[^a-z0-9]+', '-', path.stem.lower()).strip('-') or 'page'}.md"
    return _prepared(str(path), name, page, {})


def _prepared(source: str, name: str, page: Page, stamp: dict[str, str]) -> Prepared:
    """The Markdown file for ``page``, and the article the loader will make of it (checked to have text)."""
    text = frontmatter.render({**page.metadata(), **stamp}, page.body())
    body, meta = for_cleaner(name, text)  # exactly as the loader will read the file
    got = Cleaner().clean(name, body, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if isinstance(got, Skipped):
        raise FetchProblem(f"{source}: no article text on the page ({got.reason})")
    return Prepared(source, name, text, with_metadata(got, meta))


def write(prepared: Prepared, corpus: Path) -> Added:
    """Write the file into ``corpus`` atomically; a file of the same name (the same page) is replaced."""
    if not corpus.is_dir():
        raise CorpusProblem(f"the corpus folder {corpus} does not exist; create it or set BOT_CORPUS_DIR")
    target = corpus / prepared.name
    replaced = target.exists()
    fd, tmp = tempfile.mkstemp(dir=corpus, prefix=".", suffix=".tmp")  # not .md: a build never reads it
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(prepared.text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Added(prepared.name, prepared.article, replaced)


def known_urls(corpus: Path) -> set[str]:
    """The ``url`` and ``fetched_from`` of every Markdown article in ``corpus``: what ``watch`` need not fetch again."""
    out = set()
    for path in corpus.glob("*.md") if corpus.is_dir() else ():
        try:
            meta, _ = frontmatter.read(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, frontmatter.FrontMatterError):
            continue
        out.update(meta[k] for k in ("url", "fetched_from") if meta.get(k))
    return out
