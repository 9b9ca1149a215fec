"""Name completion for BM25: a part of a name used alone stands for the whole name, within one article."""

from __future__ import annotations

import itertools
from dataclasses import replace

from retrieval.text.names import bm25_texts, full_names, names_beyond
from retrieval.types import Passage, Sentence


_offset = itertools.count(0, 1000)


def passage(file: str, *sentences: str, title: str = "Talks") -> Passage:
    """A passage of ``file`` whose sentences sit at offsets no other test passage uses."""
    start = at = next(_offset)
    sents = []
    for text in sentences:
        sents.append(Sentence(text, at, at + len(text)))
        at += len(text) + 1
    return Passage(id=f"{file}:{start}", file=file, title=title, date="", outlet="", start=start, end=at,
                   sentences=tuple(sents))


def extra(texts: list[str], passages: list[Passage]) -> list[str]:
    """What each passage's BM25 text has beyond its context_text."""
    return [t[len(p.context_text):].split() for t, p in zip(texts, passages)]


def test_a_surname_used_alone_gets_the_given_name_of_its_article():
    ps = [passage("a.txt", "Foreign Minister Wang Yi met the press on Monday."),
          passage("a.txt", "Wang stressed that trust comes first."),
          passage("a.txt", "Trade grew by a third.")]
    assert extra(bm25_texts(ps), ps) == [[], ["Yi"], []]


def test_only_names_are_completed_not_titles_or_places():
    # "President" and "Consul General" stand alone too, but they are common words, not names
    ps = [passage("a.txt", "President Xi Jinping met the Consul General."),
          passage("a.txt", "Xi said the General and the President agreed.")]
    assert extra(bm25_texts(ps), ps) == [[], ["Jinping"]]


def test_completion_stays_within_one_article():
    ps = [passage("a.txt", "Wang Yi met the press."), passage("a.txt", "Wang stressed trust."),
          passage("b.txt", "Wang Wei opened the fair."), passage("b.txt", "Wang thanked the guests.")]
    assert extra(bm25_texts(ps), ps) == [[], ["Yi"], [], ["Wei"]]


def test_a_name_part_that_also_stands_alone_is_not_added():
    # "Yi" alone in the article: it is not only ever a part of "Wang Yi", so nothing is inferred
    ps = [passage("a.txt", "Wang Yi met the press."), passage("a.txt", "Wang stressed trust."),
          passage("a.txt", "Yi left early.")]
    assert extra(bm25_texts(ps), ps) == [[], [], []]


def test_without_names_the_texts_are_the_passages_context():
    ps = [passage("a.txt", "Trade grew.", title="Trade"), passage("b.txt", "Ports reopened.")]
    assert bm25_texts(ps) == [p.context_text for p in ps]


def test_full_names_are_pairs_of_rare_capitalised_words_not_titles_or_places():
    lead = ("Almaty, May 29 (Xinhua) - Consul General Jiang Wei met Maria Okafor and Tomasz Wierzbicki "
            "of the Silk Road Fund at the Great Hall in New York.")
    assert full_names(lead) == ["Jiang Wei", "Maria Okafor", "Tomasz Wierzbicki"]


def test_an_author_named_in_the_byline_goes_into_every_passage_of_the_article():
    a = passage("a.txt", "Trade grew.", title="Trade")
    b = passage("a.txt", "Exports rose.", title="Trade")
    a, b = (replace(p, byline="By Jane Doe", author="Jane Doe") for p in (a, b))
    other = passage("b.txt", "Imports fell.")
    assert extra(bm25_texts([a, b, other]), [a, b, other]) == [["Jane", "Doe"], ["Jane", "Doe"], []]


def test_names_beyond_the_question_are_the_rare_capitalised_words_it_does_not_use():
    # the scraper glued the role to the name; the question already names both parts
    assert names_beyond("Chinese ambassador to KazakhstanZhang Xiao", "who was ambassador to kazakhstan before zhang xiao?") == []
    # "Chinese" covers "China" and "Kazakh" "Kazakhstan"; a common word opening a sentence ("Both") is no name
    assert names_beyond("Both sides reopened the ports between China and Kazakhstan.", "which chinese town borders kazakh land?") == []
    # inside a sentence a capitalised common word is a name ("China"); opening one, only a rare word is ("Tokayev")
    assert names_beyond("This is Tokayev's first state visit to China.", "which country did he visit?") == ["Tokayev", "China"]
    assert names_beyond('He said: "The Chinese side agrees." Both agree.', "who agrees?") == ["Chinese"]
    assert names_beyond("About 60 people came, well-known scholar Sultanov among them.", "which scholar came?") == ["Sultanov"]
    # an acronym the question lacks is a name; one it uses is not
    assert names_beyond("Both sides support the SCO and the CICA process.", "what about CICA?") == ["SCO"]
