"""furniture: page furniture (a metadata line such as "Seetao 2022-01-03 18:20" or "Source: People's
daily", the article's byline, "Editor/Ma Xue", a call to action such as "please follow the official
wechat account of ...") is not a sentence of the story: an excerpt does not start or end on it, and it
is not shown as the best sentence's neighbour.

Why: a page keeps its metadata lines as text because questions about the article itself are answered
from them, and a site ends its pages with a call to action; shown around an answer about the story they
are noise (the phone excerpt's "before" and "after" lines most of all). When it does not fire: a
sentence that is not a short date line (at most eight words, a full date, no full stop, at most three
other words) or "Source:" line, not the byline nor a "By ..." line, and asks the reader to do nothing on
the site ("please follow", "subscribe to us", "click here"); and never on the best sentence itself (a
furniture line that answers the question is shown). Off: excerpts grow over every sentence of the
passage, and the neighbours shown are whatever sentences stand there. The tests of a line are
``ingest/furniture.py``'s. Read when an answer is composed, not at build time: no rebuild.
"""

from __future__ import annotations

from retrieval.ingest.furniture import is_furniture

# the (cached) test itself, not a wrapper: it is asked for every sentence of every shown passage
furniture = is_furniture


def never(text: str, byline: str = "") -> bool:
    """Off: every sentence is the story's."""
    return False
