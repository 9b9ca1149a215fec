"""What the cleaner reads from each kind of corpus file, and the metadata the file itself states.

- ``.txt``: the text as it is, no stated metadata (the cleaner guesses title, date, outlet).
- ``.md``: the text; a front matter block is blanked out (same length, so offsets still point
  into the file) and its fields are the article's metadata.
- ``.html`` / ``.htm``: the article trafilatura extracts from the page, in ``Page.body()``
  form, and the page's own metadata. Offsets then point into that extracted text.

Stated metadata wins over the cleaner's guesses (``with_metadata``); a field the file does
not state keeps the guess.

>>> text, meta = for_cleaner("a.md", "---\\ntitle: Hi there\\n---\\nBody.\\n")
>>> meta["title"], len(text) == len("---\\ntitle: Hi there\\n---\\nBody.\\n")
('Hi there', True)
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePath

from retrieval.ingest import frontmatter
from retrieval.ingest.html import extract
from retrieval.types import Article

HTML_SUFFIXES = (".html", ".htm")
_ISO_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ]|$)")


def for_cleaner(file: str, text: str) -> tuple[str, dict[str, str]] | str:
    """(text for the cleaner, stated metadata), or the reason the file cannot be used."""
    suffix = PurePath(file).suffix.lower()
    if suffix in HTML_SUFFIXES:
        page = extract(text)
        if page is None:
            return "no article text found in the page (trafilatura kept nothing)"
        return page.body(), page.metadata()
    if suffix == ".md":
        try:
            meta, body_at = frontmatter.read(text)
        except frontmatter.FrontMatterError as exc:
            return str(exc)
        return re.sub(r"[^\r\n]", " ", text[:body_at]) + text[body_at:], meta
    return text, {}


def with_metadata(article: Article, meta: dict[str, str]) -> Article:
    """``article`` with the fields ``meta`` states in place of the cleaner's guesses."""
    if not meta:
        return article
    date = meta.get("date", "")
    m = _ISO_PREFIX.match(date)
    stated = {"title": meta.get("title", ""), "date": m.group(1) if m else date,
              "outlet": meta.get("outlet", ""), "author": meta.get("author", ""), "url": meta.get("url", "")}
    return replace(article, **{k: v for k, v in stated.items() if v})
