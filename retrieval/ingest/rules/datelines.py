"""datelines: the opening of the story states its date and outlet: a dateline ("Nur-Sultan, June 6
(Xinhua) – ...", "China News Service, Nur-Sultan, May 29th."), a source named as reporting ("..., CCTV
reported"), or a date among its first words.

Why: many pages give no date line of their own, and their first sentence says when and by whom the
story was filed; "when was it published?" and the citation read the article's date and outlet. Used
only where the page's own lines (a date line, a "Source:" line) or its front matter say nothing. When it
does not fire: a story whose first three paragraphs open with no dateline, name no one as reporting in
their first 400 characters and state no full date in their first 300. Off: the date and outlet come only
from the page's own lines and front matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.ingest.articles import date_in, opening_dateline

# "..., CCTV reported."
_REPORTED = re.compile(r",\s*(?P<outlet>[A-Z][\w&]{1,20}(?:\s[A-Z][\w&]{1,20}){0,3})\s+reported\b")


@dataclass(frozen=True)
class Opening:
    """The date and outlet the story's opening states ("" when it states none)."""

    date: str = ""
    outlet: str = ""


def opening(paragraphs: tuple[str, ...]) -> Opening:
    """What the first paragraphs of the story (``paragraphs``, the first three) state."""
    date = outlet = ""
    for m in map(opening_dateline, paragraphs):
        if m:
            date, outlet = m.group("date").strip(), m.group("outlet").strip()
            break
    head = " ".join(paragraphs)
    if not outlet:
        m = _REPORTED.search(head[:400])
        outlet = m.group("outlet") if m else ""
    return Opening(date or date_in(head[:300]), outlet)


def none(paragraphs: tuple[str, ...]) -> Opening:
    """Off: the opening states nothing."""
    return Opening()
