"""Answers and source lists as Telegram HTML: every piece of text escaped, bounded, whole tags.

Telegram counts a message's length in UTF-16 code units after parsing the
entities, so measuring the HTML itself in UTF-16 units is a safe upper bound.
Passages are trimmed at a word boundary with an ellipsis so that one message
carries the whole answer; a tag is never cut because text is trimmed before it
is escaped and wrapped.

Usage::

    >>> from retrieval.types import Answer
    >>> telegram_html(Answer(question="<b>hi", declined=True))
    ["I couldn't find an answer to “&lt;b&gt;hi” in the articles.\\nSend /sources to see which articles I know."]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape, unescape

from retrieval.types import HEDGE, UNUSABLE, Answer, Hit, Source

TELEGRAM_LIMIT = 4096
MIN_LIMIT = 200
ELLIPSIS = "…"
MIN_PASSAGE = 120  # units a passage needs to be worth showing at all
CITATION_PART = 160  # units each of title, outlet and date may take
ECHO = 200  # units of the user's question echoed back when declining
VISIBLE = 700  # units a phone shows of an answer before anything is expanded: about a screen
PREVIEW = 120  # units a collapsed expandable quote shows (about three lines on a phone)
HEADLINE = 250  # units of the answering sentence at the top (whole in the excerpt below it)
MIN_HEADLINE = 100  # units the line above the excerpt keeps even when that goes past VISIBLE
_UNSENDABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # controls, lone surrogates


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fit(raw: str, budget: int) -> str:
    """``raw`` escaped, cut at a word boundary with an ellipsis so it takes at most ``budget`` units."""
    raw = _UNSENDABLE.sub("", raw).strip()
    whole = escape(raw, quote=False)
    if units(whole) <= budget:
        return whole
    if budget < units(ELLIPSIS):
        return ""
    low, high = 0, len(raw)  # longest prefix whose escaped form plus the ellipsis fits
    while low < high:
        mid = (low + high + 1) // 2
        if units(escape(raw[:mid].rstrip(), quote=False) + ELLIPSIS) <= budget:
            low = mid
        else:
            high = mid - 1
    cut = raw[:low]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > low // 2:
        cut = cut[:space]
    return escape(cut.rstrip(), quote=False) + ELLIPSIS


def telegram_html(answer: Answer, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """One or more HTML messages for ``answer``, each at most ``limit`` UTF-16 units (currently always one).

    The answering sentence in bold; under it one short excerpt (the sentence with its neighbours,
    answer bold inside) and its citation; the other passages collapsed in expandable quotes, so a
    phone shows about ``VISIBLE`` units before anything is expanded.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} units, got {limit}")
    notice = fit(answer.notice, limit // 6) if answer.notice.strip() else ""
    if answer.declined and answer.declined_reason == UNUSABLE:
        return [fit(answer.notice, limit) or _declined(answer.question, limit)]
    head = f"<i>{notice}</i>\n\n" if notice else ""
    if answer.declined or not (answer.passages or answer.answer_sentence.strip()):
        return [head + _declined(answer.question, limit - units(head))]
    if answer.hedged:
        head += f"<i>{escape(HEDGE, quote=False)}</i>\n"
    if not answer.passages:
        sentence = fit(answer.answer_sentence, limit - units(head) - 7)
        # a sentence of control characters alone shows nothing, and Telegram refuses an empty message
        return [head + (f"<b>{sentence}</b>" if shown_units(sentence.strip()) else _declined(answer.question, limit - units(head)))]
    return [_with_passages(head, answer.answer_sentence, answer.passages, limit)]


def more_html(hits: Sequence[Hit], limit: int = TELEGRAM_LIMIT) -> str:
    """The passages behind the "More" button, each collapsed in an expandable quote with its citation."""
    if not hits:
        return "There are no more passages for that answer."
    return _collapsed(f"<b>{len(hits)} more passage{'s' if len(hits) != 1 else ''}</b>", hits, limit)


def shown_units(html: str) -> int:
    """Units of the text ``html`` shows (tags take none, an entity takes one character)."""
    return units(unescape(re.sub(r"<[^>]+>", "", html)))


def sources_html(sources: Sequence[Source], limit: int = TELEGRAM_LIMIT) -> str:
    """The indexed articles (title, outlet, date), numbered, cut with "… and N more" to fit ``limit``."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} units, got {limit}")
    if not sources:
        return "No articles are indexed yet."
    lines = [f"<b>{len(sources)} indexed article{'s' if len(sources) != 1 else ''}</b>"]
    used = units(lines[0])
    for i, source in enumerate(sources, 1):
        line = f"{i}. {_citation(source.title, source.outlet, source.date, source.file)}"
        more = f"{ELLIPSIS} and {len(sources) - i + 1} more"
        reserve = units(more) + 1 if i < len(sources) else 0
        if used + 1 + units(line) + reserve > limit:
            lines.append(more)
            break
        lines.append(line)
        used += 1 + units(line)
    return "\n".join(lines)


def _declined(question: str, limit: int) -> str:
    plain = "I couldn't find an answer in the articles.\nSend /sources to see which articles I know."
    echoed = "I couldn't find an answer to “{}” in the articles.\nSend /sources to see which articles I know."
    echo = fit(question, min(ECHO, limit - units(echoed.format(""))))
    return echoed.format(echo) if echo else plain


def _citation(title: str, outlet: str, date: str, file: str, part: int = CITATION_PART, url: str = "") -> str:
    """"<i>Title</i> — Outlet, date (file)": the file tells an operator which article to open or fix.
    With the page's ``url`` (http/https, up to ``part`` units) the title links to it."""
    parts = [p for p in (fit(outlet, part), fit(date, part)) if p]
    name = f"<i>{fit(title, part) or 'Untitled'}</i>"
    if url.startswith(("https://", "http://")) and units(escape(url, quote=True)) <= part and not _UNSENDABLE.search(url):
        name = f'<a href="{escape(url, quote=True)}">{name}</a>'
    where = fit(file, part)
    return name + (" — " + ", ".join(parts) if parts else "") + (f" ({where})" if where else "")


def _with_passages(head: str, sentence: str, hits: Sequence[Hit], limit: int) -> str:
    """``head``, the answering sentence, the first passage as a short excerpt with its citation, the rest
    collapsed. The sentence shows whole in the excerpt; the line above it is cut first when room is short."""
    first, others = hits[0], hits[1:]
    part = min(CITATION_PART, limit // 12)
    cite = "\n" + _citation(first.passage.title, first.passage.outlet, first.passage.date, first.passage.file, part,
                            first.passage.url)
    room = (min(VISIBLE, limit) - shown_units(head) - shown_units(cite) - 8
            - (PREVIEW + 2 if others else 0))  # the other passages share one collapsed quote
    said = fit(first.sentence or sentence, min(HEADLINE, limit // 4))
    floor = min(MIN_HEADLINE, limit // 8)
    quote = _excerpt(first, said, room - shown_units(said) - min(units(fit(sentence, limit)), floor))
    line = fit(sentence, max(room - shown_units(quote), floor))
    body = (head + (f"<b>{line}</b>\n\n" if line else "") + f"<blockquote>{quote}</blockquote>" + cite)
    if not others or limit - units(body) < MIN_PASSAGE + 200:
        return body
    return _collapsed(body, others, limit, together=True)


def _excerpt(hit: Hit, said: str, room: int) -> str:
    """``said`` (the escaped answering sentence) in bold, with the sentences either side of it while they
    fit ``room`` more units: both, else the one after, else the one before, else none."""
    best = f"<b>{said}</b>"
    before, after = (escape(_UNSENDABLE.sub("", t).strip(), quote=False) for t in (hit.before, hit.after))
    for b, a in ((before, after), ("", after), (before, "")):
        if (b or a) and shown_units(b) + shown_units(a) + 2 <= room:
            return " ".join(p for p in (b, best, a) if p)
    return best


def _collapsed(head: str, hits: Sequence[Hit], limit: int, together: bool = False) -> str:
    """``head`` then ``hits``, each opening with its citation, in expandable quotes: one quote for all
    (``together``: a phone shows one quote's opening, not one per passage) or one each. Passages that
    cannot get useful room are left out; the others share what is left of ``limit``."""
    part = min(CITATION_PART, limit // 12)
    cites = [_citation(h.passage.title, h.passage.outlet, h.passage.date, h.passage.file, part, h.passage.url)
             for h in hits]
    if together:
        frames = [("\n\n" if i else "\n\n<blockquote expandable>") + c + "\n" for i, c in enumerate(cites)]
    else:
        frames = ["\n\n<blockquote expandable>" + c + "\n" for c in cites]
    ends = ["</blockquote>"] * (1 if together else len(frames))
    texts = [h.text or h.passage.text for h in hits]
    while frames:
        fixed = units(head) + sum(units(f) for f in frames) + units("".join(ends[: len(frames)]))
        if fixed + MIN_PASSAGE * len(frames) <= limit:
            break
        frames.pop()
    if not frames:
        return head
    ends = ends[: 1 if together else len(frames)]
    budgets = _share(limit - units(head) - sum(units(f) for f in frames) - units("".join(ends)),
                     [units(escape(t, quote=False)) for t in texts[: len(frames)]])
    quoted = [f + fit(t, n) for f, t, n in zip(frames, texts, budgets)]
    body = "".join(quoted) + ends[0] if together else "".join(q + e for q, e in zip(quoted, ends))
    return head + body


def _share(total: int, wants: list[int]) -> list[int]:
    """Split ``total`` units among texts: short ones get what they need, long ones share the rest evenly."""
    budgets = [0] * len(wants)
    left = sorted(range(len(wants)), key=lambda i: wants[i])
    while left:
        even = total // len(left)
        i = left.pop(0)
        budgets[i] = min(wants[i], even)
        total -= budgets[i]
    return budgets
