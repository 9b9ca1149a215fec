"""bylines: a short line between the headline and the first paragraph that ends in a name is the
article's byline; it is kept aside (``Article.byline``), and the name it ends in is the author.

Why: "who wrote the article?" is answered by that line ("By Jane Doe", "Reporter: Li Wei", "Chinese
ambassador to KazakhstanZhang Xiao"); kept as an ordinary line it is dropped with the page's other
unpunctuated short lines, and nothing says who wrote the piece. The first passage opens with it and
BM25 indexes the author's name with every passage of the article. When it does not fire: a line with
terminal punctuation, shorter than two or longer than ten words, not ending in two or three capitalised
words, or (without "By", "Editor", "Reporter" ...) whose last two words are common English words (a
subheading: "... trade with Central Asia"); and only the first such line under the headline counts.
Off: no article has a byline or an author (a file's front matter still states one).
"""

from __future__ import annotations

import re

from retrieval.ingest.articles import BYLINE_WORDS, TERMINAL, unglue
from retrieval.text.names import is_name

# a byline between the headline and the first paragraph: "By Jane Doe", "Reporter: Li Wei", or a role
# and a name ("Chinese ambassador to Kazakhstan Zhang Xiao"); it ends in a capitalised name
_BYLINE = re.compile(rf"^(?P<lead>(?i:{BYLINE_WORDS})\b\s*[/:：|]?\s*)?"
                     r"(?:[^.!?]{0,60}\s)?[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,2}$")
_AUTHOR = re.compile(r"[A-Z][\w'’-]+\s+[A-Z][\w'’-]+$")


def byline_author(text: str) -> str | None:
    """The name the line ends in when ``text`` reads as a byline ("By Jane Doe" -> "Jane Doe"), else None."""
    if not 2 <= len(text.split()) <= 10 or TERMINAL.search(text):
        return None
    m = _BYLINE.match(unglue(text))
    name = author(text)
    return name if m and (m.group("lead") or all(is_name(w) for w in name.split())) else None


def author(byline: str) -> str:
    """The name a byline ends in ("Chinese ambassador to KazakhstanZhang Xiao" -> "Zhang Xiao")."""
    m = _AUTHOR.search(unglue(byline))
    return m.group(0) if m else ""


def none(text: str) -> str | None:
    """Off: no line is a byline."""
    return None
