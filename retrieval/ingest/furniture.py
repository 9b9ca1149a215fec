"""Which sentences of a passage are page furniture rather than the story: where an excerpt may not start, and
which cannot be the sentence emphasised unless the question asks about the article itself.

A page keeps its metadata lines as text ("2022-05-29 15:17:55", "Seetao 2022-01-03 18:20", "Source:
People's daily", the byline) because questions about the article itself are answered from them, and
a site ends its pages with a call to action ("For more information ..., please follow the official
wechat account of ..."). Neither is a sentence of the story: an excerpt starts and ends at a sentence
of the story, and shows a furniture line only when it is itself the answer.

>>> is_furniture("Seetao 2022-01-03 18:20")
True
>>> is_furniture("In the field of humanities, cooperation deepened.")
False
"""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.ingest.articles import BYLINE_WORDS, is_metadata_line

# "Editor/Ma Xue", "By Jane Doe", "Reporter: Li Wei" as a line of its own
_BYLINE_LINE = re.compile(rf"^(?i:{BYLINE_WORDS})\s*[/:：|]?\s*[A-Z][\w'.-]+(?:\s+[A-Z][\w'.-]+){{0,3}}\s*$")

# the reader is asked to do something on the site: follow, subscribe, scan, click, share, download
_CALL_TO_ACTION = re.compile(
    r"\b(?:please|kindly)\s+(?:follow|subscribe|scan|click|like|share|download|visit|log ?in|sign up)\b"
    r"|\b(?:follow|subscribe to|scan the|click|join) (?:us|our|here|the qr)\b", re.I)


@lru_cache(maxsize=32_768)  # pure; read for every shown passage's sentences while answering
def is_furniture(text: str, byline: str = "") -> bool:
    """A metadata line, the byline, or a call to action."""
    return ((bool(byline) and text == byline) or is_metadata_line(text) or bool(_BYLINE_LINE.match(text))
            or bool(_CALL_TO_ACTION.search(text)))
