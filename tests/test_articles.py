"""Cleaning scraped pages and splitting them into passages."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.ingest.articles import load_articles, unglue, without_dateline
from retrieval.ingest.metadata import iso_date
from retrieval.split import make_passages, split_sentences
from tests.conftest import SEEDS

JUNK_PAGE = """Home > World > Asia > Economy
Login | Register | Subscribe
Share
Comment
Harbour city opens new container terminal to boost regional trade

Portville Herald 2023-04-11 09:30

Photo by Jane Roe/Portville Herald
The city of Portville opened its third container terminal on Monday.The terminal can handle 1.5 million containers a year, officials said. Mayor Ann Lee said the project created 2,400 jobs and cost 310 million dollars.It was financed by a consortium of three local banks and the regional government.

Construction started in 2019 and was delayed twice by flooding. Dock workers' unions welcomed the opening and said wages would rise.

Related articles
Portville mayor visits trade fair in neighbouring province
City council approves new budget for the coming year
Tel: +44 20 7946 0958
Email: desk@portville-herald.example
Retrieve password
Hotspot ranking
"""

OTHER_PAGE = """Home > World > Asia > Economy
Login | Register | Subscribe
Farmers report record wheat harvest after mild winter

Source: Valley Gazette

Farmers across the valley harvested a record 4.2 million tonnes of wheat this summer.Agronomists credit the mild winter and timely rains for the result.
Related articles
Tel: +44 20 7946 0958
"""


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_junk_heavy_page_keeps_prose_title_and_metadata(tmp_path):
    _write(tmp_path, "port.txt", JUNK_PAGE.encode())
    _write(tmp_path, "wheat.md", OTHER_PAGE.encode())
    articles, skipped = load_articles(tmp_path)
    assert skipped == []
    port = next(a for a in articles if a.file == "port.txt")
    assert port.title == "Harbour city opens new container terminal to boost regional trade"
    assert port.date == "2023-04-11"
    assert port.outlet == "Portville Herald"
    text = port.text
    for junk in ("Login", "Share", "Comment", "Related articles", "Tel:", "Email", "Retrieve password",
                 "Hotspot", "Portville mayor visits trade fair", "Photo by"):
        assert junk not in text, junk
    assert "2,400 jobs" in text and "Dock workers' unions" in text
    wheat = next(a for a in articles if a.file == "wheat.md")
    assert wheat.outlet == "Valley Gazette"
    assert "Home > World" not in wheat.text


def test_unusable_files_are_skipped_with_a_reason_naming_them(tmp_path):
    _write(tmp_path, "good.txt", OTHER_PAGE.encode())
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "blank.md", b"   \n\n ")
    _write(tmp_path, "latin1.txt", "Caf\xe9 owners in S\xe3o Paulo said prices rose.".encode("latin-1"))
    _write(tmp_path, "menu.txt", b"Home\nNews\nSport\nContact us\n")
    _write(tmp_path, "notes.csv", b"not,an,article\n")
    articles, skipped = load_articles(tmp_path)
    assert [a.file for a in articles] == ["good.txt"]
    reasons = {s.file: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "blank.md", "latin1.txt", "menu.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "no article text" in reasons["menu.txt"]


def test_shipped_articles_keep_title_date_and_outlet():
    articles, skipped = load_articles(SEEDS)
    assert skipped == []
    by_file = {a.file: a for a in articles}
    assert len(by_file) == 5
    assert by_file["000_f3c7b540608cc31d.txt"].date == "2022-05-29"
    assert by_file["001_c0144ea105606dd7.txt"].outlet == "Seetao"
    assert by_file["001_c0144ea105606dd7.txt"].date == "2022-01-03"
    assert by_file["002_37fe6401c5483390.txt"].outlet == "People's Daily"
    assert by_file["003_76a0430b942b8f9f.txt"].outlet == "Xinhua"
    assert by_file["003_76a0430b942b8f9f.txt"].date == "June 6"
    assert by_file["001_c0144ea105606dd7.txt"].title.startswith("30 years of diplomatic relations")
    assert by_file["002_37fe6401c5483390.txt"].author == "Zhang Xiao"  # "Chinese ambassador to KazakhstanZhang Xiao"
    assert [a.file for a in articles if a.byline] == ["002_37fe6401c5483390.txt"]
    for a in articles:
        for junk in ("Hotspot ranking", "Retrieve password", "Tel:", "Leave a Comment", "Related articles"):
            assert junk not in a.text


BODY = """The city of Portville opened its third container terminal on Monday. Mayor Ann Lee said the project created 2,400 jobs and cost 310 million dollars. It was financed by a consortium of three local banks and the regional government.

Construction started in 2019 and was delayed twice by flooding. Dock workers' unions welcomed the opening and said wages would rise. The port expects to handle twice as many ships by 2030, the harbour master said.

Shipping lines from four continents have already booked berths. Local hauliers said the new road link to the terminal would cut their journeys by half an hour. The regional government plans a rail spur next year.
"""


def test_a_byline_under_the_headline_is_kept_and_names_the_author(tmp_path):
    # scraped pages glue the role to the name; the byline opens the first passage without moving any window
    headline = "Harbour city opens new container terminal to boost regional trade"
    _write(tmp_path, "a.txt", f"Home > World > Asia\n{headline}\nHarbour correspondentTomasz Wierzbicki\n{BODY}".encode())
    [article], _ = load_articles(tmp_path)
    assert article.byline.text == "Harbour correspondentTomasz Wierzbicki" and article.author == "Tomasz Wierzbicki"
    _write(tmp_path, "a.txt", f"{headline}\n{BODY}".encode())
    [plain], _ = load_articles(tmp_path)
    assert plain.byline is None and plain.author == ""
    passages, without = make_passages(article, 30, 60), make_passages(plain, 30, 60)
    assert len(passages) == len(without) > 1
    assert passages[0].sentences[0].text == "Harbour correspondentTomasz Wierzbicki"
    assert [p.sentences[-1].text for p in passages] == [p.sentences[-1].text for p in without]
    assert {p.author for p in passages} == {"Tomasz Wierzbicki"}


@pytest.mark.parametrize("line", [
    "Officials expect more ships from South America",  # a subheading ending in common capitalised words
    "Related Articles",
])
def test_a_short_line_under_the_headline_is_no_byline_unless_it_ends_in_a_name(tmp_path, line):
    _write(tmp_path, "a.txt", f"Harbour city opens new container terminal\n{line}\n{BODY}".encode())
    [article], _ = load_articles(tmp_path)
    assert article.byline is None and article.author == ""


def test_a_name_line_after_the_first_paragraph_is_no_byline(tmp_path):
    paragraphs = BODY.split("\n\n")
    _write(tmp_path, "a.txt", f"Harbour city opens new container terminal\n{paragraphs[0]}\nBy Tomasz Wierzbicki\n"
                              f"{paragraphs[1]}".encode())
    [article], _ = load_articles(tmp_path)
    assert article.byline is None


def test_a_bare_dateline_keeps_its_time_of_day(tmp_path):
    # "at what time was it posted?" needs the time; "2022-05-20 0 By" has none, so only its date stays
    for dateline, kept in (("2022-05-29 15:17:55", "2022-05-29 15:17:55"), ("2022-05-20 0 By", "2022-05-20")):
        _write(tmp_path, "a.txt", f"Harbour city opens new container terminal\n\n{dateline}\n\n{OTHER_PAGE}".encode())
        [article], _ = load_articles(tmp_path)
        texts = [b.text for b in article.blocks]
        assert kept in texts and article.date == dateline[:10], texts


def test_sentences_split_without_space_after_full_stop_but_not_on_decimals():
    text = "It reached 9.53 billion US dollars, up 9.2% year on year.China always advocates peace. Dr. Smith agreed."
    sents = [s.text for s in split_sentences(text)]
    assert sents == ["It reached 9.53 billion US dollars, up 9.2% year on year.",
                     "China always advocates peace.", "Dr. Smith agreed."]


def test_initialisms_and_titles_before_names_do_not_end_a_sentence():
    text = ("Father Joseph Carrier, C.S.C. was Director of the Science Museum. The church stands on the spot "
            "of Fr. Sorin's first chapel.It was rebuilt by Rev. John Zahm in 1888.")
    sents = [s.text for s in split_sentences(text)]
    assert sents == ["Father Joseph Carrier, C.S.C. was Director of the Science Museum.",
                     "The church stands on the spot of Fr. Sorin's first chapel.",
                     "It was rebuilt by Rev. John Zahm in 1888."]


def test_a_closing_quote_at_the_end_of_a_paragraph_stays_with_its_sentence():
    sents = [s.text for s in split_sentences('It fully demonstrates "seeing the truth in adversity."')]
    assert sents == ['It fully demonstrates "seeing the truth in adversity."']


def test_passages_are_bounded_overlapping_and_point_back_into_the_file():
    articles, _ = load_articles(SEEDS)
    for article in articles:
        original = (SEEDS / article.file).read_text(encoding="utf-8")
        passages = make_passages(article, 60, 150)
        assert passages
        for p in passages:
            assert len(p.text.split()) <= 150
            assert p.title == article.title and p.file == article.file
            for s in p.sentences:
                assert original[s.start:s.end] == s.text
        if len(passages) > 1:
            assert all(len(p.text.split()) >= 60 for p in passages)
            for a, b in zip(passages, passages[1:]):
                assert a.sentences[-1] in b.sentences, "consecutive passages share a sentence"
                assert b.end > a.end, "each passage moves forward"


def test_unpunctuated_text_is_still_split_into_bounded_passages(tmp_path):
    words = " ".join(f"word{i}" for i in range(700))
    _write(tmp_path, "raw.txt", f"A headline without any punctuation at all\n\n{words}\n".encode())
    articles, skipped = load_articles(tmp_path)
    assert not skipped
    passages = make_passages(articles[0], 60, 150)
    assert len(passages) >= 5
    assert all(len(p.text.split()) <= 150 for p in passages)


def test_unglue_for_display_splits_only_where_both_halves_are_words():
    words = {"kazakhstan", "he", "zhang", "china", "tube"}
    is_word = lambda part: part.lower() in words  # noqa: E731
    assert unglue("on Tuesday KazakhstanHe said", is_word) == "on Tuesday Kazakhstan He said"
    # "Petro" and "You" are not words here: a name of one word stays whole, and so does "kV"
    assert unglue("PetroChina, YouTube and a 500 kV line", is_word) == "PetroChina, YouTube and a 500 kV line"
    assert unglue("PetroChina") == "Petro China"  # without a vocabulary, every glue point splits


def test_without_dateline_drops_only_an_opening_dateline():
    assert without_dateline("Nur-Sultan, June 6 (Xinhua) – Wang Yi held talks.") == " – Wang Yi held talks."
    assert without_dateline("China News Service, Nur-Sultan, May 29th. On the 27th, ...") == ". On the 27th, ..."
    assert without_dateline("Wang Yi arrived in Nur-Sultan, June 6.") == "Wang Yi arrived in Nur-Sultan, June 6."


@pytest.mark.parametrize("top, dateline, expected", [
    ("", "ALMATY, March 14, 2024 (Xinhua) -- ", "2024-03-14"),  # the date spelled out with its year
    ("2022-05-29 15:17:55\n\n", "Portville Herald, Portville, May 29th. ", "2022-05-29"),  # a timestamp and time
    ("", "Portville, June 6 (Portville Herald) – ", "June 6"),  # no year anywhere: as the page gives it
])
def test_every_stated_date_becomes_one_form_where_the_page_gives_the_year(tmp_path, top, dateline, expected):
    paragraphs = BODY.split("\n\n")
    _write(tmp_path, "a.txt", f"Harbour city opens new container terminal\n\n{top}{dateline}{paragraphs[0]}\n\n"
                              f"{paragraphs[1]}".encode())
    [article], _ = load_articles(tmp_path)
    assert article.date == expected
    assert article.outlet in ("Xinhua", "Portville Herald"), "the dateline's outlet, with or without a year"
    passages = make_passages(article)
    assert {p.date for p in passages} == {expected}


def test_a_year_from_elsewhere_on_the_page_is_the_one_nearest_its_date():
    from datetime import date

    assert iso_date("Dec 30", near=date(2022, 1, 2)) == "2021-12-30"
    assert iso_date("May 29th", near=date(2022, 5, 29)) == "2022-05-29"
    assert iso_date("Feb 29", near=date(2022, 3, 1)) == "Feb 29"  # no such day near 2022: left as stated
    assert iso_date("not a date at all") == "not a date at all"


def test_an_outlet_stated_in_lower_case_is_cited_as_a_proper_name(tmp_path):
    for stated, shown in (("people's daily", "People's Daily"), ("Voice of america", "Voice of America"),
                          ("CCTV", "CCTV"), ("portville.example.com", "portville.example.com")):
        _write(tmp_path, "a.txt", f"Harbour city opens new container terminal\n\nSource: {stated}\n\n{BODY}".encode())
        [article], _ = load_articles(tmp_path)
        assert article.outlet == shown, stated


def test_a_prose_line_repeated_across_files_is_dropped_and_one_found_once_kept(tmp_path):
    """The first pass counts lines by hash over every file; the second drops the repeated ones."""
    furniture = "Readers can reach the newsroom every weekday until late evening."
    port = JUNK_PAGE.replace("Construction started", furniture + "\nConstruction started")
    _write(tmp_path, "port.txt", port.encode())
    _write(tmp_path, "wheat.md", (OTHER_PAGE + furniture + "\n").encode())
    _write(tmp_path, "alone.txt", JUNK_PAGE.replace("Harbour city", "Lonely harbour city").replace(
        "Construction started", "A sentence found in this file alone.\nConstruction started").encode())
    articles, _ = load_articles(tmp_path)
    text = {a.file: " ".join(b.text for b in a.blocks) for a in articles}
    assert furniture not in text["port.txt"] and furniture not in text["wheat.md"]
    assert "A sentence found in this file alone." in text["alone.txt"]
    assert "Construction started in 2019" not in text["port.txt"], "a short line both port pages share"
    assert all("The city of Portville opened" in text[f] for f in ("port.txt", "alone.txt")), "over 30 words: kept"
