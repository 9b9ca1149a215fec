"""An HTML page -> the article on it and the metadata the page states, via trafilatura.

News pages carry far more furniture (navigation, share widgets, most-read lists,
newsletter boxes, footers with phone numbers) than article. trafilatura is a
maintained extractor that finds the article body and reads the page's own
metadata (``<title>``/``og:title``, ``og:site_name``, ``article:published_time``,
author, ``<link rel=canonical>``), which is more reliable than guessing those
from the text the way the plain-text cleaner must.

>>> page = extract(open("tests/data/web/harbour-ferry.html").read())
>>> page.outlet, page.date
('Northbay Herald', '2024-03-05')
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Page:
    """The article a page holds: paragraphs (one per line) and the page's own metadata ("" when not stated)."""

    title: str
    text: str
    author: str = ""
    date: str = ""  # ISO, YYYY-MM-DD
    outlet: str = ""
    url: str = ""  # canonical when the page names one, else the address it was read from

    def body(self) -> str:
        """The article as the corpus stores it: the headline, a byline when the page names an author,
        then the paragraphs, blank-line separated. The cleaner reads this shape like any scraped page:
        the first line as the headline (kept out of the passages), "By ..." as the byline."""
        lead = [self.title] + ([f"By {self.author}"] if self.author else [])
        return "\n\n".join(lead + self.text.splitlines()) + "\n"

    def metadata(self) -> dict[str, str]:
        return {"title": self.title, "date": self.date, "author": self.author, "outlet": self.outlet, "url": self.url}


def extract(html: str | bytes, url: str = "") -> Page | None:
    """The article on the page at ``url``, or None when the page holds no article text.

    ``html`` may be bytes: trafilatura then works out the encoding from the page itself.
    """
    import trafilatura  # a few hundred ms to import: only builds and ``add`` that meet HTML pay it

    doc = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False,
        include_images=False, favor_precision=True, deduplicate=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None:
        return None
    title = " ".join((doc.title or "").split())
    paragraphs = [" ".join(line.split()) for line in (doc.text or "").splitlines()]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title and paragraphs[0] == title:
        paragraphs = paragraphs[1:]  # the <h1> again: the headline travels as metadata
    if not paragraphs:
        return None
    date = doc.date or ""
    return Page(
        title=title, text="\n".join(paragraphs), author=" ".join((doc.author or "").split()),
        date=date if _ISO.match(date) else "", outlet=" ".join((doc.sitename or "").split()),
        url=doc.url or url,
    )
