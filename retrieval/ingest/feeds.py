"""RSS / Atom feeds -> the article links they list, and the poll that adds the new ones.

feedparser reads the feed from bytes fetched within the same limits as a page
(it is never handed a URL, so it opens no connection of its own). A feed whose
XML is broken is refused whole rather than read by feedparser's forgiving
fallback: links guessed from broken markup could be anything.

>>> watcher = Watcher(["https://www.example.org/rss"], FetchLimits(), Path("corpus"))   # doctest: +SKIP
>>> poll = watcher.poll()          # adds the items not yet in the corpus
>>> [a.file for a in poll.added], poll.problems
"""

from __future__ import annotations

import xml.sax
from dataclasses import dataclass
from pathlib import Path

from retrieval.ingest.fetch import FEED_TYPES, FetchLimits, FetchProblem, check_url, fetch
from retrieval.ingest.web import Added, known_urls, prepare, write


def feed_links(url: str, limits: FetchLimits) -> list[str]:
    """The http(s) links of a feed's items, in the feed's order; ``FetchProblem`` when it cannot be read."""
    import feedparser

    got = fetch(url, limits, accept=FEED_TYPES)
    parsed = feedparser.parse(got.content, response_headers={"content-location": got.url,
                                                             "content-type": got.content_type})
    if not parsed.get("version"):
        raise FetchProblem(f"{url}: not an RSS or Atom feed")
    if parsed.get("bozo") and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        raise FetchProblem(f"{url}: not a readable feed (broken XML: {parsed.bozo_exception})")
    links = []
    for entry in parsed.entries:
        link = entry.get("link", "")
        try:
            links.append(check_url(link))
        except FetchProblem:
            continue  # an item without a web page (or with a mailto: or relative link feedparser could not resolve)
    return list(dict.fromkeys(links))


@dataclass(frozen=True)
class Poll:
    """What one round over the feeds did: the articles written, and one line per thing that went wrong."""

    added: tuple[Added, ...]
    problems: tuple[str, ...]
    items: int  # links the feeds listed


class Watcher:
    """Polls feeds and adds the items it has not seen; a link is fetched at most once per watcher.

    Items already in the corpus (their canonical URL is some file's ``url``) are not written again.
    """

    def __init__(self, feeds: list[str], limits: FetchLimits, corpus: Path):
        self.feeds = [check_url(f) for f in feeds]
        self.limits = limits
        self.corpus = corpus
        self._seen: set[str] = set()

    def poll(self) -> Poll:
        known = known_urls(self.corpus)
        added, problems, items = [], [], 0
        for feed in self.feeds:
            try:
                links = feed_links(feed, self.limits)
            except FetchProblem as exc:
                problems.append(str(exc))
                continue
            items += len(links)
            for link in links:
                if link in known or link in self._seen:
                    continue
                self._seen.add(link)
                try:
                    ready = prepare(link, self.limits)
                except FetchProblem as exc:
                    problems.append(str(exc))
                    continue
                if ready.article.url in known:
                    continue  # the same page, listed under another address
                added.append(write(ready, self.corpus))
                known.add(ready.article.url)
        return Poll(tuple(added), tuple(problems), items)
