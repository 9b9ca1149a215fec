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
from html import escape

from retrieval.types import UNUSABLE, Answer, Hit, Source

TELEGRAM_LIMIT = 4096
MIN_LIMIT = 200
ELLIPSIS = "…"
MIN_PASSAGE = 120  # units a passage needs to be worth showing at all
CITATION_PART = 160  # units each of title, outlet and date may take
ECHO = 200  # units of the user's question echoed back when declining
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
    """One or more HTML messages for ``answer``, each at most ``limit`` UTF-16 units (currently always one)."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} units, got {limit}")
    notice = fit(answer.notice, limit // 6) if answer.notice.strip() else ""
    if answer.declined and answer.declined_reason == UNUSABLE:
        return [fit(answer.notice, limit) or _declined(answer.question, limit)]
    head = f"<i>{notice}</i>\n\n" if notice else ""
    sentence = fit(answer.answer_sentence, limit // 3)
    if answer.declined or not (answer.passages or sentence):
        return [head + _declined(answer.question, limit - units(head))]
    if sentence:
        head += f"<b>{sentence}</b>"
    return [_with_passages(head, answer.passages, limit)]


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


def _with_passages(head: str, hits: Sequence[Hit], limit: int) -> str:
    part = min(CITATION_PART, limit // 12)
    frames = [("\n\n<blockquote>", "</blockquote>\n" + _citation(h.passage.title, h.passage.outlet, h.passage.date,
                                                             h.passage.file, part, h.passage.url))
              for h in hits]
    texts = [h.text or h.passage.text for h in hits]
    while frames:
        fixed = units(head) + sum(units(a) + units(b) for a, b in frames)
        if fixed + MIN_PASSAGE * len(frames) <= limit:
            break
        frames.pop()
    budgets = _share(limit - units(head) - sum(units(a) + units(b) for a, b in frames),
                     [units(escape(t, quote=False)) for t in texts[: len(frames)]])
    quoted = [fit(t, n) for t, n in zip(texts, budgets)]
    body = "".join(a + q + b if q else "\n\n" + b.removeprefix("</blockquote>\n")
                   for (a, b), q in zip(frames, quoted))
    return (head + body).strip("\n") or _declined("", limit)


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
