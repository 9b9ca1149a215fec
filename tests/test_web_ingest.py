"""Pages and feeds from a real HTTP server on 127.0.0.1 -> checked articles, front matter, the loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.engine import Engine
from retrieval.settings import Settings, SettingsError
from retrieval.ingest import frontmatter
from retrieval.ingest.articles import load_articles
from retrieval.ingest.feeds import Watcher, feed_links
from retrieval.ingest.fetch import DEFAULT_USER_AGENT, FetchLimits, FetchProblem, fetch
from retrieval.ingest.html import extract
from retrieval.split import make_passages
from retrieval.ingest.web import file_name, known_urls, prepare, write
from tests.conftest import SEEDS, make_settings
from tests.websites import WEB, site  # noqa: F401 - the fixture

FERRY_URL = "https://www.northbayherald.example/news/2024/03/05/harbour-ferry-returns"
# what the ferry page has around its article: none of it may reach a passage
FURNITURE = ["Most read", "Share on", "Copy link", "01632", "newsdesk@", "Sign up", "Bypass roadworks",
             "lottery", "Subscribe", "All rights reserved", "Cookie", "Ferry return delayed", "Search the Herald",
             "Photo: Herald staff", "Topics:"]
LIMITS = FetchLimits(timeout=2.0, max_bytes=20_000)


def test_ferry_page_gives_its_article_and_its_own_metadata_without_furniture():
    page = extract((WEB / "harbour-ferry.html").read_bytes())
    assert (page.title, page.outlet, page.date, page.author, page.url) == (
        "Harbour ferry to Greystone Island returns after 18 months", "Northbay Herald", "2024-03-05",
        "Maria Okafor", FERRY_URL)
    assert page.text.startswith("The ferry between Port Alder and Greystone Island resumed sailings on Monday")
    assert "free for the first month" in page.text
    assert [f for f in FURNITURE if f in page.text] == []


def test_a_page_of_links_has_no_article():
    assert extract((WEB / "no-article.html").read_bytes()) is None


def test_fetch_follows_a_redirect_and_names_itself(site):
    got = fetch(site.url("/moved"), LIMITS)
    assert got.url == site.url("/news/harbour-ferry") and b"Greystone Queen" in got.content
    assert [p for p, _ in site.requests] == ["/moved", "/news/harbour-ferry"]
    assert {ua for _, ua in site.requests} == {DEFAULT_USER_AGENT} and DEFAULT_USER_AGENT.startswith("newsbot/")


@pytest.mark.parametrize("path, says", [
    ("/gone", "the server answered 404 Not Found"),
    ("/broken", "the server answered 500 Internal Server Error"),
    ("/slow", "no answer within 0.5 s (timed out)"),
    ("/report.pdf", "not an HTML page (Content-Type: application/pdf)"),
    ("/huge", "too large ({size} kB; the limit is 20 kB, BOT_FETCH_MAX_BYTES)"),
    ("/huge-unsized", "too large (over 20 kB; the limit is 20 kB, BOT_FETCH_MAX_BYTES)"),
    ("/loop", "more than 3 redirects"),
    ("/to-file", "redirected to a refused address: file:/etc/passwd: only http:// and https:// addresses can be "
                 "added, not file:"),
])
def test_each_bad_page_is_one_line_naming_the_address(site, path, says):
    with pytest.raises(FetchProblem) as err:
        fetch(site.url(path), FetchLimits(timeout=0.5, max_bytes=20_000, max_redirects=3))
    says = says.format(size=round(len(site.pages[path].body) / 1e3))
    assert str(err.value).startswith(site.url(path) + ": ") and says in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("url, says", [
    ("file:///etc/passwd", "only http:// and https:// addresses can be added, not file:"),
    ("ftp://ftp.example.org/news.html", "can be added, not ftp:"),
    ("javascript:alert(1)", "can be added, not javascript:"),
    ("www.example.org/news", "no such file, and not an http:// or https:// address"),
    ("http://", "not a valid URL (no host name)"),
    ("http://example.org:80x/", "not a valid URL"),
    ("https://exa mple.org/", "not a valid URL (a space in it)"),
])
def test_refused_addresses_are_never_requested(site, url, says):
    with pytest.raises(FetchProblem) as err:
        prepare(url, LIMITS)
    assert says in str(err.value)
    assert site.requests == []


def test_a_missing_file_that_is_no_url_says_both():
    with pytest.raises(FetchProblem, match=r"^notes\.txt: no such file, and not an http:// or https:// address$"):
        prepare("notes.txt", LIMITS)


def test_prepared_page_is_markdown_with_front_matter_the_loader_reads_back(site, tmp_path):
    ready = prepare(site.url("/news/harbour-ferry"), LIMITS)
    assert ready.name == file_name(FERRY_URL) == "northbayherald-example-news-2024-03-05-harbour-ferry-returns-" \
        + ready.name.rsplit("-", 1)[1]
    meta, _ = frontmatter.read(ready.text)
    assert meta["title"] == "Harbour ferry to Greystone Island returns after 18 months"
    assert (meta["date"], meta["outlet"], meta["author"], meta["url"]) == (
        "2024-03-05", "Northbay Herald", "Maria Okafor", FERRY_URL)
    assert meta["fetched_at"].endswith("Z") and meta["fetched_at"][:2] == "20"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    added = write(ready, corpus)
    assert not added.replaced and [p.name for p in corpus.iterdir()] == [ready.name]  # no temporary left
    [article], skipped = load_articles(corpus)
    assert skipped == []
    assert (article.title, article.date, article.outlet, article.author, article.url) == (
        meta["title"], "2024-03-05", "Northbay Herald", "Maria Okafor", FERRY_URL)
    assert article.byline.text == "By Maria Okafor"
    assert [f for f in FURNITURE if f in article.text] == []
    assert known_urls(corpus) == {FERRY_URL, site.url("/news/harbour-ferry")}  # canonical, and where it was fetched


def test_the_same_page_by_another_address_replaces_its_file(site, tmp_path):
    write(prepare(site.url("/news/harbour-ferry"), LIMITS), tmp_path)
    again = write(prepare(site.url("/moved"), LIMITS), tmp_path)
    assert again.replaced and len(list(tmp_path.iterdir())) == 1


def test_file_names_ignore_scheme_www_fragment_and_trailing_slash_but_not_the_path():
    same = {file_name(u) for u in ("https://www.example.org/news/a/", "http://example.org/news/a#top",
                                    "https://example.org/news/a")}
    assert len(same) == 1
    assert file_name("https://example.org/news/b") not in same
    assert file_name("https://example.org/news/a?page=2") not in same


def test_html_files_and_front_matter_in_the_corpus_state_their_own_metadata(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    shutil.copy(WEB / "library-reopens.html", corpus / "library.htm")
    (corpus / "note.md").write_text(
        "---\ntitle: Night buses return to the coast road\ndate: 2024-02-11\noutlet: Coast Courier\n"
        "url: https://courier.example/night-buses\nauthor: Sam Lee\n---\n"
        "Night buses return\n\nThe night bus between Port Alder and Westcliff returned on Sunday after a "
        "winter without a late service, the operator said.\n\nBuses leave every hour from midnight until five.\n",
        encoding="utf-8")
    (corpus / "bad.md").write_text("---\ntitle: [unclosed\n---\nSome text that is long enough to be prose.\n")
    articles, skipped = load_articles(corpus)
    by_file = {a.file: a for a in articles}
    lib = by_file["library.htm"]
    assert (lib.title, lib.outlet, lib.date, lib.author) == (
        "Port Alder library reopens with rooftop reading garden", "Northbay Herald", "2024-03-08", "Daniel Brennan")
    assert lib.url == "https://www.northbayherald.example/news/2024/03/08/library-reopens"
    assert "Most read" not in lib.text and "01632" not in lib.text
    note = by_file["note.md"]
    assert (note.title, note.date, note.outlet, note.author, note.url) == (
        "Night buses return to the coast road", "2024-02-11", "Coast Courier", "Sam Lee",
        "https://courier.example/night-buses")
    text = (corpus / "note.md").read_text()
    assert all(text[b.start:b.start + len(b.text)] == b.text for b in note.blocks)  # offsets point into the file
    assert "title:" not in note.text
    assert [(s.file, s.reason) for s in skipped] == [("bad.md", "front matter is not valid YAML (line 2)")]


def test_plain_text_files_get_no_stated_metadata(tmp_path):
    """Front matter and page metadata are read from .md and .html only: a .txt is cleaned as it always was."""
    assert all(a.url == "" for a in load_articles(SEEDS)[0])
    (tmp_path / "a.txt").write_text(
        "---\nurl: https://x.example/a\ntitle: Stated title\n---\nBus fares in Port Alder rise for the first time "
        "in three years\n\nBus fares in Port Alder rose by ten pence on Monday, the operator said.\n\n"
        "Season tickets stay at the old price until June.\n", encoding="utf-8")
    [article], _ = load_articles(tmp_path)
    assert article.url == "" and article.title != "Stated title"


def test_rss_and_atom_feeds_list_their_article_links(site):
    assert feed_links(site.url("/feed.xml"), LIMITS) == [site.url("/news/library-reopens"),
                                                        site.url("/news/harbour-ferry")]
    assert feed_links(site.url("/atom.xml"), LIMITS) == [site.url("/news/harbour-ferry")]  # not the mailto: item


def test_a_feed_with_broken_xml_is_refused_whole(site):
    with pytest.raises(FetchProblem, match=r"broken-feed\.xml: not a readable feed \(broken XML: .*mismatched tag"):
        feed_links(site.url("/broken-feed.xml"), LIMITS)


def test_a_page_is_not_a_feed(site):
    with pytest.raises(FetchProblem, match="not an RSS or Atom feed"):
        feed_links(site.url("/news/harbour-ferry"), LIMITS)


def test_watcher_adds_new_items_once_and_a_running_engine_reloads_them(site, tmp_path, embedder):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    settings = make_settings(corpus, index)
    running = Engine(settings, embedder=embedder)  # the bot: loaded before the feed is polled
    seeds_only = running.build(progress=False)
    watcher = Watcher([site.url("/feed.xml"), site.url("/broken-feed.xml")], LIMITS, corpus)
    first = watcher.poll()
    assert sorted(a.article.title for a in first.added) == [
        "Harbour ferry to Greystone Island returns after 18 months",
        "Port Alder library reopens with rooftop reading garden"]
    assert len(first.problems) == 1 and "broken XML" in first.problems[0] and first.items == 2
    report = Engine(settings, embedder=embedder).build(progress=False)  # what `watch` runs after a poll
    new = [p for a in load_articles(corpus)[0] if a.url for p in make_passages(a)]
    assert report.files == 7 and report.embedded < seeds_only.embedded
    assert report.embedded == len({p.context_text for p in new} | {s.text for p in new for s in p.sentences})
    assert running.reload_if_changed()
    hit = running.answer("How long did the ferry's first crossing to Greystone Island take?").passages[0]
    assert "55 minutes" in hit.text and hit.passage.url == FERRY_URL
    fetched = len(site.requests)
    second = watcher.poll()
    assert second.added == () and second.items == 2
    assert len(site.requests) == fetched + 2  # the two feeds again; no page fetched twice
    fresh = Watcher([site.url("/feed.xml")], LIMITS, corpus).poll()  # a new watcher knows them from the corpus
    assert fresh.added == () and len(site.requests) == fetched + 3


@pytest.mark.parametrize("env, says", [
    ({"BOT_FETCH_TIMEOUT_SECONDS": "soon"}, "BOT_FETCH_TIMEOUT_SECONDS must be a number, got 'soon'"),
    ({"BOT_FETCH_TIMEOUT_SECONDS": "0"}, "BOT_FETCH_TIMEOUT_SECONDS must be between 0.1 and 600, got 0"),
    ({"BOT_FETCH_MAX_BYTES": "5MB"}, "BOT_FETCH_MAX_BYTES must be a whole number, got '5MB'"),
    ({"BOT_FETCH_MAX_REDIRECTS": "-1"}, "BOT_FETCH_MAX_REDIRECTS must be at least 0, got -1"),
    ({"BOT_WATCH_MINUTES": "0"}, "BOT_WATCH_MINUTES must be between 0.01 and 10080, got 0"),
])
def test_fetch_settings_name_the_bad_value(env, says):
    with pytest.raises(SettingsError) as err:
        Settings.from_env(environ=env, dotenv=Path("/nonexistent"))
    assert str(err.value) == says


def test_fetch_settings_reach_the_limits():
    s = Settings.from_env(environ={"BOT_FETCH_TIMEOUT_SECONDS": "2.5", "BOT_FETCH_MAX_BYTES": "2048",
                                   "BOT_FETCH_MAX_REDIRECTS": "0", "BOT_FETCH_USER_AGENT": "desk-bot/1"},
                          dotenv=Path("/nonexistent"))
    assert FetchLimits.from_settings(s) == FetchLimits(2.5, 2048, 0, "desk-bot/1")
    assert FetchLimits.from_settings(Settings()).user_agent == DEFAULT_USER_AGENT
