"""name_completion: within an article, a name part that only ever stands next to another ("Yi" of "Wang
Yi") is added to the BM25 text of the article's passages that use the other part alone ("Wang stressed
trust." is indexed as "... Wang stressed trust. Yi").

Why: a news article names a person in full once and by one part after that; a question names them in
full, and the rarer part then pulled up any passage with the full name (a list of attendees in another
article) over the passage that says what "Wang" said. Only the BM25 text changes: the passages shown and
embedded stay exact slices of their files. When it does not fire: a name part that also stands alone
somewhere in the article ("Wang" after "Wang Yi"), a pair with a common English word in it (wordfreq
Zipf 4.5 or more: "President Xi", "Silk Road"), a passage that holds both parts or neither, or another
article's use of the name. Off: BM25 indexes each passage's own text, headline and author.
"""

from __future__ import annotations

from retrieval.text.names import completions
from retrieval.types import Passage


def complete(passages: list[Passage], progress: bool = False) -> dict[int, list[str]]:
    """Passage index -> the name parts its BM25 text gets."""
    return completions(passages, progress)


def none(passages: list[Passage], progress: bool = False) -> dict[int, list[str]]:
    """Off: no passage gets a name part."""
    return {}
