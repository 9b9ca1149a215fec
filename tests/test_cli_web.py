"""``newsbot add`` and ``newsbot watch`` as an operator runs them: the real CLI in a subprocess, a temporary
corpus and index, pages from a news site on 127.0.0.1, then ``ask --json`` on what was added."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from retrieval.engine import Engine
from tests.conftest import SEEDS, make_settings
from tests.test_cli import run
from tests.test_web_ingest import FERRY_URL, FURNITURE
from tests.websites import Route, site  # noqa: F401 - the fixture

SUMMARY = re.compile(r"Indexed (\d+) of (\d+) files: (\d+) passages in [\d.]+ s \((\d+) texts embedded, (\d+) reused\)")


@pytest.fixture(scope="module")
def seeds_built(tmp_path_factory, embedder):
    """A corpus of the shipped articles and its index, built once; tests work on copies."""
    root = tmp_path_factory.mktemp("web-seeds")
    shutil.copytree(SEEDS, root / "corpus")
    Engine(make_settings(root / "corpus", root / "index"), embedder=embedder).build(progress=False)
    return root


@pytest.fixture
def folders(seeds_built, tmp_path):
    shutil.copytree(seeds_built / "corpus", tmp_path / "corpus")
    shutil.copytree(seeds_built / "index", tmp_path / "index")
    return tmp_path / "corpus", tmp_path / "index"


def newsbot(folders, *args, **env):
    corpus, index = folders
    return run("--corpus", str(corpus), "--index-dir", str(index), *args, env={k: str(v) for k, v in env.items()})


def snapshot(folders) -> tuple:
    """Everything a failed add must leave as it was: the corpus files and bytes, and the index's live version."""
    corpus, index = folders
    files = {p.relative_to(corpus).as_posix(): p.read_bytes() for p in sorted(corpus.rglob("*"))}
    return files, (index / "CURRENT").read_text()


def test_added_page_is_cited_with_its_title_outlet_date_and_url_and_none_of_its_furniture(site, folders):
    res = newsbot(folders, "add", site.url("/news/harbour-ferry"))
    assert res.returncode == 0, res.stderr
    name = next(p.name for p in folders[0].glob("*.md"))
    assert res.stdout.splitlines()[0] == (
        f"Added {name}: Harbour ferry to Greystone Island returns after 18 months — Northbay Herald, 2024-03-05 "
        f"({FERRY_URL})")
    files, passages, embedded, reused = (int(x) for x in SUMMARY.search(res.stdout).group(1, 3, 4, 5))
    assert files == 6 and reused > embedded > 0  # the shipped articles' vectors reused, the page's embedded
    ask = newsbot(folders, "ask", "--json", "How long did the first crossing to Greystone Island take?")
    assert ask.returncode == 0, ask.stderr
    top = json.loads(ask.stdout)["passages"][0]
    assert "55 minutes" in top["text"]
    assert (top["title"], top["outlet"], top["date"], top["url"], top["file"]) == (
        "Harbour ferry to Greystone Island returns after 18 months", "Northbay Herald", "2024-03-05",
        FERRY_URL, name)
    page = [p for p in json.loads(newsbot(folders, "ask", "--json", "Greystone Island ferry").stdout)["passages"]
            if p["url"]]
    assert page and [f for f in FURNITURE for p in page if f in p["text"]] == []


def test_adding_the_same_page_again_updates_its_file(site, folders):
    assert newsbot(folders, "add", site.url("/news/harbour-ferry")).returncode == 0
    revised = site.file("harbour-ferry.html").replace(b"took 55 minutes", b"took 48 minutes")
    site.pages["/news/harbour-ferry"] = Route(revised)
    res = newsbot(folders, "add", site.url("/moved"))  # another address, the same canonical URL
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Updated ") and len(list(folders[0].glob("*.md"))) == 1
    ask = json.loads(newsbot(folders, "ask", "--json", "How long did the first crossing take?").stdout)
    texts = [p["text"] for p in ask["passages"]]
    assert any("48 minutes" in t for t in texts) and not any("55 minutes" in t for t in texts)


@pytest.mark.parametrize("path, env, says", [
    ("/gone", {}, "the server answered 404 Not Found"),
    ("/broken", {}, "the server answered 500 Internal Server Error"),
    ("/slow", {"BOT_FETCH_TIMEOUT_SECONDS": "0.5"}, "no answer within 0.5 s (timed out)"),
    ("/report.pdf", {}, "not an HTML page (Content-Type: application/pdf)"),
    ("/sections", {}, "no article text on the page"),
    ("/huge-unsized", {"BOT_FETCH_MAX_BYTES": "20000"}, "too large (over 20 kB; the limit is 20 kB"),
    ("/to-file", {}, "redirected to a refused address"),
    ("file:///etc/passwd", {}, "only http:// and https:// addresses can be added, not file:"),
    ("ftp://127.0.0.1/news.html", {}, "only http:// and https:// addresses can be added, not ftp:"),
    ("http://127.0.0.1:port/news", {}, "not a valid URL"),
])
def test_a_bad_page_is_one_line_exit_2_and_changes_nothing(site, folders, path, env, says):
    before = snapshot(folders)
    res = newsbot(folders, "add", site.url(path) if path.startswith("/") else path, **env)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ") and says in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert snapshot(folders) == before


def test_good_pages_are_added_beside_a_bad_one_which_still_fails_the_command(site, folders):
    res = newsbot(folders, "add", site.url("/gone"), site.url("/news/library-reopens"))
    assert res.returncode == 2 and res.stderr.count("error: ") == 1 and "/gone: " in res.stderr
    assert "Added " in res.stdout and "Indexed 6 of 6 files" in res.stdout


def test_watch_once_adds_the_feeds_new_items_then_finds_nothing_new(site, folders):
    res = newsbot(folders, "watch", "--once", site.url("/feed.xml"), site.url("/atom.xml"))
    assert res.returncode == 0, res.stderr
    assert sorted(line.split(":")[0] for line in res.stdout.splitlines() if line.startswith("Added")) == sorted(
        f"Added {p.name}" for p in folders[0].glob("*.md"))
    assert len(list(folders[0].glob("*.md"))) == 2 and "Indexed 7 of 7 files" in res.stdout
    assert "2 feed(s), 3 items, 2 new" in res.stderr
    again = newsbot(folders, "watch", "--once", site.url("/feed.xml"))
    assert again.returncode == 0 and "Indexed" not in again.stdout and "1 feed(s), 2 items, 0 new" in again.stderr


def test_watch_once_on_a_broken_feed_is_one_line_and_changes_nothing(site, folders):
    before = snapshot(folders)
    res = newsbot(folders, "watch", "--once", site.url("/broken-feed.xml"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "not a readable feed (broken XML: " in errors[0]
    assert snapshot(folders) == before


def test_watch_refuses_a_feed_that_is_not_http(folders):
    res = newsbot(folders, "watch", "--once", "file:///etc/hosts")
    assert res.returncode == 2 and res.stderr.strip() == (
        "error: file:///etc/hosts: only http:// and https:// addresses can be added, not file:")
