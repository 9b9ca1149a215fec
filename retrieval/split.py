"""``Article`` -> sentences -> overlapping ``Passage`` windows.

Scraped text often lacks the space after a full stop ("stability.China"), so
the splitter accepts a boundary without whitespace when a capital follows,
while protecting abbreviations, initials and decimals.
"""

from __future__ import annotations

import hashlib
import re

from retrieval.types import Article, Passage, Sentence

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "st", "no", "vs", "etc", "inc", "ltd", "co", "corp", "jr", "sr",
    "gen", "gov", "sen", "rep", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "e.g", "i.e", "fig", "approx", "dept", "est", "u.s", "u.k", "u.n",
    # titles before a name ("Fr. Sorin", "Rev. John Jenkins", "Lt. Col. Smith")
    "fr", "rev", "msgr", "hon", "pres", "lt", "col", "capt", "sgt", "cmdr", "adm", "maj", "supt",
}
# punctuation, optional closing quotes/brackets, then either whitespace + a sentence opener
# or (no space) a capital letter / opening quote, or the end of the block (a closing quote stays with its sentence)
_BOUNDARY = re.compile(r"[.!?。！？]+[\"'”’)\]]*(?:\s+(?=[\"'“‘(\[A-Z0-9])|(?=[A-Z“\"])|\s*$)")
# letters with full stops between them ("c.s" of "C.S.C.", "u.s.a"): an initialism, not a sentence's end
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_PHOTO_CREDIT = re.compile(r"^(?:photo|photos|image|picture|file photo)\b.{0,80}\b(?:by|courtesy|credit)", re.I)


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Sentences of one block of text, with offsets shifted by ``offset``."""
    out: list[Sentence] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        head = text[start:m.start()]
        last = re.search(r"([\w.]+)$", head)
        token = last.group(1).lower() if last else ""
        if token in _ABBREV or (len(token) == 1 and token.isalpha()) or _INITIALISM.fullmatch(token):
            continue  # "Dr. Smith", "J. Smith", "U.S.", inside "C.S.C."
        _add(out, text, start, end, offset)
        start = end
    _add(out, text, start, len(text), offset)
    return out


def _add(out: list[Sentence], text: str, a: int, b: int, offset: int) -> None:
    seg = text[a:b]
    lead = len(seg) - len(seg.lstrip())
    body = seg.strip()
    if body and not _PHOTO_CREDIT.match(body):
        out.append(Sentence(body, offset + a + lead, offset + a + lead + len(body)))


def _chop(sentence: Sentence, max_words: int) -> list[Sentence]:
    """Cut a run-on "sentence" (no punctuation for pages) into word windows."""
    words = list(re.finditer(r"\S+", sentence.text))
    if len(words) <= max_words:
        return [sentence]
    step = max_words * 2 // 3
    out = []
    for i in range(0, len(words), step):
        chunk = words[i:i + step]
        a, b = chunk[0].start(), chunk[-1].end()
        out.append(Sentence(sentence.text[a:b], sentence.start + a, sentence.start + b))
    return out


def _words(s: Sentence) -> int:
    return len(s.text.split())


def make_passages(article: Article, min_words: int = 60, max_words: int = 150, overlap: int = 1) -> list[Passage]:
    """Greedy windows of whole sentences, about ``min_words``–``max_words`` long.

    Consecutive windows share ``overlap`` sentences so an answer that straddles
    a window edge is still found whole in one of them.
    """
    sents: list[Sentence] = []
    for block in article.blocks:
        if block.text == article.title:
            continue  # the headline travels as metadata and embedding context, not as an answer
        for s in split_sentences(block.text, block.start):
            sents.extend(_chop(s, max_words))
    windows: list[tuple[int, int]] = []
    i = 0
    target = (min_words + max_words) // 2
    while i < len(sents):
        j, n = i, 0
        while j < len(sents) and (n < target) and (j == i or n + _words(sents[j]) <= max_words):
            n += _words(sents[j])
            j += 1
        windows.append((i, j))
        if j >= len(sents):
            break
        i = max(j - overlap, i + 1)
    if len(windows) > 1:
        a, b = windows[-1]
        if sum(_words(s) for s in sents[a:b]) < min_words:
            # widen the short tail backwards instead of leaving a scrap
            while a > windows[-2][0] + 1 and sum(_words(s) for s in sents[a - 1:b]) <= max_words:
                a -= 1
            windows[-1] = (a, b)
    # the byline opens the first passage ("who wrote it?" can emphasise it) outside the word budget: it is
    # a line of metadata, and counting it would move every window of the article
    by = article.byline
    head = (Sentence(by.text, by.start, by.start + len(by.text)),) if by else ()
    return [_passage(article, (head if k == 0 else ()) + tuple(sents[a:b])) for k, (a, b) in enumerate(windows)]


def _passage(article: Article, sents: tuple[Sentence, ...]) -> Passage:
    key = f"{article.sha256}:{sents[0].start}:{sents[-1].end}"
    pid = hashlib.sha1(key.encode()).hexdigest()[:16]
    return Passage(pid, article.file, article.title, article.date, article.outlet,
                   sents[0].start, sents[-1].end, sents,
                   article.byline.text if article.byline else "", article.author, article.url)
