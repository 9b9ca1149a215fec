"""Markdown front matter: the metadata block a Markdown article opens with, read and written.

A page added from the web is stored as Markdown whose front matter says what the
page itself stated (title, date, author, outlet, canonical URL); when the corpus
is indexed those values win over what the cleaner would guess from the text.

    ---
    title: "Harbour ferry returns"
    date: "2024-03-05"
    url: "https://www.example.org/news/harbour-ferry"
    ---
    Harbour ferry returns
    ...

>>> meta, body_at = read("---\\ntitle: Hello world\\n---\\nText.\\n")
>>> meta["title"], body_at
('Hello world', 26)
>>> render({"title": "Hello"}, "Text.")
'---\\ntitle: "Hello"\\n---\\n\\nText.\\n'
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping

import yaml

_BLOCK = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)


class FrontMatterError(ValueError):
    """The front matter block is there but cannot be read; the message says where."""


def read(text: str) -> tuple[dict[str, str], int]:
    """(metadata, offset where the body starts); ``({}, 0)`` when ``text`` has no front matter.

    Values come back as plain strings (a YAML date ``2024-03-05`` as its ISO form); keys the
    loader does not use are kept, so a hand-written file may carry notes of its own.
    """
    m = _BLOCK.match(text)
    if not m:
        return {}, 0
    try:
        data = yaml.safe_load(m.group("yaml")) if m.group("yaml").strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise FrontMatterError(f"front matter is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise FrontMatterError("front matter must be `key: value` lines")
    return {str(k): _text(v) for k, v in data.items() if v is not None}, m.end()


def _text(value) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return " ".join(str(value).split())


def render(meta: Mapping[str, str], body: str) -> str:
    """A Markdown file: ``meta`` as front matter (each value double-quoted, so any text is safe), then ``body``."""
    lines = ["---"] + [f"{k}: {json.dumps(str(v), ensure_ascii=False)}" for k, v in meta.items() if v] + ["---"]
    return "\n".join(lines) + "\n\n" + body.strip() + "\n"
