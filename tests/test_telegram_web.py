"""A page from the web, cited in Telegram with its title linking to the page; and the bot never fetches
a URL a user sends (only the operator's command line adds articles)."""

from __future__ import annotations

import shutil

import pytest

from bot.console import Style, render_answer
from bot.telegram.render import telegram_html
from retrieval.engine import Engine
from retrieval.types import Answer, Hit, Passage, Sentence
from tests.conftest import SEEDS, make_settings
from tests.test_telegram import run_bot, valid_reply  # noqa: F401 - the fixture
from tests.test_web_ingest import FERRY_URL
from tests.websites import WEB, site  # noqa: F401 - the fixture

TITLE = "Harbour ferry to Greystone Island returns after 18 months"


@pytest.fixture(scope="module")
def web_engine(tmp_path_factory, embedder) -> Engine:
    """The shipped articles plus the ferry page saved as an .html file in the corpus."""
    root = tmp_path_factory.mktemp("web-engine")
    shutil.copytree(SEEDS, root / "corpus")
    shutil.copy(WEB / "harbour-ferry.html", root / "corpus" / "ferry.html")
    engine = Engine(make_settings(root / "corpus", root / "index"), embedder=embedder)
    engine.build(progress=False)
    return engine


def one_hit(url: str) -> Answer:
    text = "The ferry resumed sailings on Monday."
    p = Passage("p", "f.md", "Ferry returns", "2024-03-05", "Herald", 0, len(text), (Sentence(text, 0, len(text)),),
                url=url)
    return Answer("q?", passages=(Hit(p, 0.9, text, text),), answer_sentence=text)


def test_telegram_reply_links_the_title_to_the_page(botapi, run_bot, web_engine):  # noqa: F811
    run_bot(answering=web_engine)
    asked = botapi.send_text(botapi.new_user("Ana"), "How long did the first crossing to Greystone Island take?")
    [reply] = botapi.wait_for_replies(asked)
    shown = valid_reply(reply)
    assert "55 minutes" in shown
    assert f'<a href="{FERRY_URL}"><i>{TITLE}</i></a> — Northbay Herald, 2024-03-05 (ferry.html)' in reply.text


def test_the_bot_never_fetches_a_url_a_user_sends(botapi, run_bot, web_engine, site):  # noqa: F811
    run_bot(answering=web_engine)
    user = botapi.new_user("Ana")
    for text in (site.url("/news/library-reopens"), f"/ask {site.url('/news/library-reopens')}",
                 f"please add {site.url('/feed.xml')}"):
        botapi.wait_for_replies(botapi.send_text(user, text))
    assert site.requests == []
    assert not any(p.suffix == ".md" for p in web_engine.settings.corpus_dir.iterdir())


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "https://x.example/" + "a" * 400, ""])
def test_only_short_http_addresses_become_links(url):
    [msg] = telegram_html(one_hit(url))
    assert "<a " not in msg and "<i>Ferry returns</i> — Herald, 2024-03-05 (f.md)" in msg


def test_a_link_is_escaped_inside_its_attribute():
    [msg] = telegram_html(one_hit('https://x.example/a?b=1&c="2"<'))
    assert '<a href="https://x.example/a?b=1&amp;c=&quot;2&quot;&lt;"><i>Ferry returns</i></a>' in msg
    valid_reply(type("Sent", (), {"text": msg, "parse_mode": "HTML"})())


def test_console_prints_the_url_under_the_citation():
    out = render_answer(one_hit(FERRY_URL), Style(None)).splitlines()
    at = out.index("    Source: Ferry returns — Herald, 2024-03-05 (f.md)")
    assert out[at + 1] == f"    {FERRY_URL}"
    assert not any(line.strip().startswith("http") for line in render_answer(one_hit(""), Style(None)).splitlines())
