"""What an answer shows: three different places, excerpts that start at a sentence of the story, and a
confidence between 0 and 1. A real index built from a small corpus this file writes, the real model."""

from __future__ import annotations

import json

import pytest

from retrieval.ingest.furniture import is_furniture
from retrieval.engine import Engine
from tests.conftest import make_settings
from tests.test_cli import run

# each sentence distinct, so a repeated one can only come from two windows showing one place
_FACTS = [f"The {n} section of the Steppe railway was laid by crew number {i} in {1990 + i} across the river plain."
          for i, n in enumerate(["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                                 "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth"], 1)]
RAILWAY = "\n".join([
    "Steppe railway between Almaty and Tashkent opens to passengers",
    "",
    "Steppe Herald 2023-03-14 18:20",
    "",
    " ".join(_FACTS[:5]),
    "",
    "The railway cost 2.3 billion US dollars, the ministry said. The journey now takes nine hours instead of twenty.",
    "",
    " ".join(_FACTS[5:10]),
    "",
    " ".join(_FACTS[10:]),
    "",
    "For more information on Central Asia, please follow the official wechat account of Steppe Herald.",
])
HARBOUR = "\n".join([
    "Harbour city opens a new container terminal",
    "",
    "2023-04-11 09:30:15",
    "",
    "The city of Portville opened its third container terminal on Monday, the harbour master said. "
    "The terminal can handle one and a half million containers a year and employs two thousand dock workers. "
    "Construction started in 2019 and was delayed twice by flooding of the old quay. "
    "Dock workers' unions welcomed the opening and said wages would rise over the next three years. "
    "The port expects to handle twice as many ships by 2030, when a second breakwater is finished.",
])


@pytest.fixture(scope="module")
def small(tmp_path_factory, embedder) -> Engine:
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "railway.txt").write_text(RAILWAY, encoding="utf-8")
    (corpus / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    engine = Engine(make_settings(corpus, tmp_path_factory.mktemp("index")), embedder=embedder)
    engine.build(progress=False)
    return engine


@pytest.mark.parametrize("question", ["which crew laid the sections of the Steppe railway?",
                                      "when was the railway section across the river plain laid?",
                                      "how much did the railway between Almaty and Tashkent cost?"])
def test_the_top_three_are_three_different_places(small, question):
    answer = small.answer(question)
    assert not answer.declined and len(answer.passages) >= 2
    spans = [(h.passage.file, h.passage.start, h.passage.end) for h in answer.passages]
    for i, (f, a, b) in enumerate(spans):
        for g, c, d in spans[i + 1:]:
            assert f != g or b <= c or d <= a, f"overlapping windows of {f}: {spans}"
    shown = [s.text for h in answer.passages for s in h.passage.sentences]
    assert len(shown) == len(set(shown)), "a sentence appears in two passages"


@pytest.mark.parametrize("question", [
    "how much did the railway between Almaty and Tashkent cost?",
    "which crew laid the first section of the Steppe railway?",
    # a date question: the timestamp line has the date shape, but only a question about the article is
    # answered by it, so no place is cut around it
    "when did construction of the terminal start?",
])
def test_an_excerpt_starts_at_a_sentence_of_the_story(small, question):
    answer = small.answer(question)
    assert not answer.declined
    for h in answer.passages:
        first = h.text.split(". ")[0]
        assert not h.text.startswith(("Steppe Herald", "2023-")), h.text[:60]
        assert not is_furniture(first), first
        assert "please follow" not in h.text


def test_the_short_excerpt_beside_the_answer_shows_no_furniture_as_a_neighbour(small):
    """The phone reply shows the answer with the sentences either side (``Hit.before`` / ``after``):
    a timestamp or site line next to the answer is left out there too, not only at an excerpt's start."""
    answer = small.answer("on which day did Portville open its third container terminal?")
    assert not answer.declined and "Monday" in answer.passages[0].sentence
    assert answer.passages[0].before == ""  # the "2023-04-11 09:30:15" line above it is furniture
    assert answer.passages[0].after.startswith("The terminal can handle")


def test_a_metadata_line_is_shown_when_it_is_the_answer(small):
    answer = small.answer("when was the article about the container terminal published?")
    assert not answer.declined
    assert "2023-04-11" in answer.answer_sentence and "2023-04-11" in answer.passages[0].text


@pytest.mark.parametrize("text, furniture", [
    ("2022-05-29 15:17:55", True), ("Seetao 2022-01-03 18:20", True), ("Source: People's daily", True),
    ("Editor/Ma Xue", True), ("Please follow us on our official account for more news.", True),
    ("Scan the QR code to subscribe to our newsletter.", True),
    ("On May 20, 2022 trade grew by a third.", False), ("In 1992 the two countries established relations.", False),
    ("The delegation will follow the route of the old Silk Road.", False),
])
def test_furniture_is_a_metadata_line_a_byline_or_a_call_to_action(text, furniture):
    assert is_furniture(text) is furniture


def test_ask_json_gives_a_confidence_between_0_and_1_and_0_when_declined(index_copy):
    stdin = "when was diplomatic relations established?\nWhat is the capital of Peru?\n"
    res = run("--index-dir", str(index_copy), "ask", "-", "--json", stdin=stdin)
    assert res.returncode == 0, res.stderr
    answered, declined = (json.loads(line) for line in res.stdout.splitlines())
    assert 0.0 < answered["confidence"] <= 1.0 and "1992" in answered["passages"][0]["text"]
    assert declined["declined"] and declined["confidence"] == 0.0


def test_a_place_is_cut_around_its_best_sentence_across_the_window_edges_of_the_index(small):
    """The index's windows share one sentence with their neighbours; asked about that edge sentence, the
    place shown still holds the article's sentences on both sides of it, from both windows."""
    snap = small._require()[0]
    windows = [p for p in snap.passages(list(range(len(snap)))) if p.file == "railway.txt"]
    assert len(windows) >= 3
    edge = windows[1].sentences[-1]          # the last sentence of a window is the first of the next
    assert windows[2].sentences[0] == edge
    article = sorted({s.start: s for w in windows for s in w.sentences}.values(), key=lambda s: s.start)
    at = article.index(edge)
    before, after = article[at - 1].text, article[at + 1].text
    assert before not in windows[2].text and after not in windows[1].text   # no window holds all three
    hit = small.answer(edge.text.rstrip(".") + "?").passages[0]
    assert hit.sentence == edge.text
    assert before in hit.text and edge.text in hit.text and after in hit.text
    assert len(hit.text) <= 1000
