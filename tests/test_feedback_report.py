"""The operator's report: grouping with the real embedding model, the figures from real log files, the HTML
page, and the console and ``ask`` doors through the real command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from retrieval.feedback.log import Asker, QuestionLog, QuestionRow, Rating
from retrieval.feedback.privacy import Salt
from retrieval.feedback.report import GROUP_SIMILARITY, build_report, group_questions, read_log
from retrieval.feedback.report_html import report_html
from retrieval.settings import PROJECT_ROOT
from retrieval.types import UNUSABLE, Answer
from tests.conftest import bot_process_env
from tests.feedback_helpers import rows

# Questions the shipped articles do not answer: the same request in other words, and the same subject asked
# differently. GROUP_SIMILARITY was chosen from these; the test keeps the model and threshold honest.
PARAPHRASES = [
    ("Who won the mayoral election?", "who won the mayor race"),
    ("What is the capital of Peru?", "Which city is Peru's capital?"),
    ("How many people live in Almaty?", "What is the population of Almaty?"),
    ("When does the new metro line open?", "opening date of the new metro line"),
    ("What will the weather be tomorrow?", "weather forecast for tomorrow"),
    ("Who is the president of France?", "Who leads France as president?"),
    ("How much does a train ticket to Astana cost?", "price of a train ticket to Astana"),
    ("When is the next football match?", "when do they play football next"),
    ("Where can I get a covid vaccine?", "where to get vaccinated against covid"),
    ("What time does the museum close?", "museum closing hours"),
    ("Is the airport open today?", "is the airport operating today"),
    ("Who wrote the new tax law?", "who is the author of the new tax law"),
    ("What did the prime minister say about inflation?", "prime minister's comments on inflation"),
    ("How do I renew my passport?", "passport renewal process"),
    ("Why did oil prices fall?", "reason oil prices dropped"),
    ("When was the bridge built?", "in what year was the bridge constructed"),
]
DIFFERENT = [
    ("Who won the mayoral election?", "When is the next mayoral election?"),
    ("What is the capital of Peru?", "What is the capital of Chile?"),
    ("How many people live in Almaty?", "How many tourists visit Almaty?"),
    ("When does the new metro line open?", "How much did the new metro line cost?"),
    ("What will the weather be tomorrow?", "Was there a storm yesterday?"),
    ("Who is the president of France?", "Who is the president of Kazakhstan?"),
    ("How much does a train ticket to Astana cost?", "How long is the flight to Astana?"),
    ("When is the next football match?", "Who won the tennis final?"),
    ("Where can I get a covid vaccine?", "How many covid cases were reported?"),
    ("What time does the museum close?", "What is on show at the museum?"),
    ("Is the airport open today?", "Is the railway station open today?"),
    ("Who wrote the new tax law?", "When does the new tax law take effect?"),
    ("What did the prime minister say about inflation?", "What is the inflation rate?"),
    ("How do I renew my passport?", "How do I apply for a visa?"),
    ("Why did oil prices fall?", "Why did gold prices rise?"),
    ("When was the bridge built?", "Who designed the bridge?"),
]


def merged(pairs, encode) -> int:
    return sum(len(group_questions(list(pair), encode)) == 1 for pair in pairs)


def test_the_grouping_threshold_merges_paraphrases_and_keeps_different_questions_apart(embedder):
    assert merged(PARAPHRASES, embedder.encode) >= 13, f"paraphrases merged at {GROUP_SIMILARITY}"
    assert merged(DIFFERENT, embedder.encode) <= 1, f"different questions merged at {GROUP_SIMILARITY}"


def test_repeats_and_rewordings_count_together_most_asked_first(embedder):
    asked = ["What is the capital of Peru?", "what is the capital of peru", "Which city is Peru's capital?",
             "Who won the mayoral election?", "What is the capital of Peru?"]
    groups = group_questions(asked, embedder.encode)
    assert [(g["q"], g["count"]) for g in groups] == [("What is the capital of Peru?", 4),
                                                      ("Who won the mayoral election?", 1)]
    assert groups[0]["also"] == ["Which city is Peru's capital?"]


def row(answer_id: str, at: float, question: str, declined: bool = False, reason: str = "",
        sources=(), latency: float = 10.0) -> QuestionRow:
    return QuestionRow(answer_id, at, "telegram", "private", "h", question, declined, reason, tuple(sources), latency)


def test_the_report_counts_days_declines_articles_feedback_and_latency(embedder):
    now = time.mktime((2030, 5, 10, 12, 0, 0, 0, 0, -1))
    day = 86400
    a, b = ("a.txt", "Article A"), ("b.txt", "Article B")
    questions = [
        row("1", now - 2 * day, "q1", sources=[a, b], latency=10),
        row("2", now - 2 * day, "Who won the mayoral election?", True, "off topic", latency=20),
        row("3", now, "q3", sources=[a], latency=30),
        row("4", now, "", True, UNUSABLE, latency=1),
        row("5", now, "who won the mayor race", True, "off topic", latency=40),
    ]
    ratings = [Rating("3", "x", False, now), Rating("3", "y", False, now), Rating("1", "x", True, now),
               Rating("1", "y", False, now)]
    report = build_report(questions, ratings, embedder.encode, days=3, now=now)
    assert (report["questions"], report["declined"]) == (5, 3)
    assert report["per_day"] == [{"day": "2030-05-08", "questions": 2, "declined": 1},
                                 {"day": "2030-05-09", "questions": 0, "declined": 0},
                                 {"day": "2030-05-10", "questions": 3, "declined": 2}]
    assert report["unanswered"] == [{"q": "Who won the mayoral election?", "count": 2,
                                     "also": ["who won the mayor race"]}], "an unusable question is no topic"
    assert report["top_articles"] == [{"file": "a.txt", "title": "Article A", "count": 2},
                                      {"file": "b.txt", "title": "Article B", "count": 1}]
    assert report["feedback"] == {"up": 1, "down": 3}
    assert [(r["answer_id"], r["down"], r["up"]) for r in report["most_down"]] == [("3", 2, 0), ("1", 1, 1)]
    assert report["latency_ms"] == {"p50": 20.0, "p95": 38.0}


def test_the_html_page_is_self_contained_escaped_and_draws_both_charts(embedder):
    now = time.time()
    questions = [row("1", now, "<script>alert(1)</script> & co?", True, "off topic"),
                 row("2", now, "q", sources=[("a.txt", "A <b>bold</b> title")])]
    page = report_html(build_report(questions, [Rating("2", "x", True, now)], embedder.encode, 7, now))
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co?" in page
    assert "A &lt;b&gt;bold&lt;/b&gt; title" in page
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<link""", page), "nothing is loaded from elsewhere"
    assert page.count("<svg") == 2 and 'aria-label="1 thumbs up, 0 thumbs down"' in page
    assert len(re.findall(r"<g><title>", page)) == 7, "one bar per day"


def cli(*args: str, db, stdin: str = "", index=None) -> subprocess.CompletedProcess:
    extra = ["--index-dir", str(index)] if index else []
    return subprocess.run([sys.executable, "-m", "bot", *extra, *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=bot_process_env(BOT_DB_PATH=str(db), LOGNAME="alice", USER="alice"), timeout=300)


def test_console_good_and_bad_rate_the_last_answer_and_ask_logs_its_door(index_copy, tmp_path):
    db = tmp_path / "log.sqlite"
    chat = cli("chat", db=db, index=index_copy,
               stdin="/good\nwhen was diplomatic relations established?\n/good\n/bad\nWhat is the capital of Peru?\n")
    assert chat.returncode == 0, chat.stderr
    assert "Nothing to rate yet: ask a question first." in chat.stdout
    assert "Thanks: noted 👍 for the last answer." in chat.stdout and "noted 👎" in chat.stdout
    asked = cli("ask", "--json", "who won the mayoral election?", db=db, index=index_copy)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["declined"] is True
    logged = rows(db)
    assert [(r["door"], r["declined"]) for r in logged] == [("console", 0), ("console", 1), ("ask", 1)]
    [rating] = rows(db, "ratings")
    assert rating["answer_id"] == logged[0]["answer_id"] and rating["up"] == 0, "/bad replaced /good"
    assert {r["user_hash"] for r in logged} == {Salt.beside(db).user("alice")}


def test_report_prints_text_json_and_html_and_forget_empties_it(tmp_path):
    db = tmp_path / "log.sqlite"
    log = QuestionLog(db, Salt.beside(db))
    for user, question in (("1001", "Who won the mayoral election?"), ("1002", "who won the mayor race")):
        answer_id = log.asked(Asker("telegram", user, "private"), question, Answer(question, declined=True,
                                                                                   declined_reason="off"), 12.0)
        log.rate(answer_id, user, up=False)
    assert log.close()
    page = tmp_path / "report.html"
    text = cli("report", "--html", str(page), db=db)
    assert text.returncode == 0, text.stderr
    assert "2 questions, 2 declined (100%)" in text.stdout and "   2  Who won the mayoral election?" in text.stdout
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")
    shown = json.loads(cli("report", "--json", "--days", "1", db=db).stdout)
    assert set(shown) >= {"questions", "declined", "feedback", "unanswered", "top_articles", "latency_ms", "per_day"}
    assert shown["feedback"] == {"up": 0, "down": 2} and len(shown["per_day"]) == 1
    gone = cli("forget", "--user", "1001", db=db)
    assert gone.returncode == 0 and "Deleted 1 question and 1 rating" in gone.stdout
    assert json.loads(cli("report", "--json", db=db).stdout)["questions"] == 1
    assert read_log(db, 0)[0][0].question == "who won the mayor race"


def test_report_counts_hedged_answers_and_lists_their_questions_most_asked_first(tmp_path):
    db = tmp_path / "log.sqlite"
    log = QuestionLog(db, Salt.beside(db))
    for question, hedged in (("Who won the mayoral election?", True), ("When was the bridge built?", True),
                             ("who won the mayor race", True), ("when was diplomatic relations established?", False)):
        log.asked(Asker("console", "alice"), question, Answer(question, confidence=0.3 if hedged else 0.9,
                                                              hedged=hedged), 12.0)
    log.asked(Asker("console", "alice"), "What is the capital of Peru?",
              Answer("What is the capital of Peru?", declined=True, declined_reason="off"), 12.0)
    assert log.close()
    page = tmp_path / "report.html"
    text = cli("report", "--html", str(page), db=db)
    assert text.returncode == 0, text.stderr
    assert "5 questions, 1 declined (20%), 3 hedged (60%)." in text.stdout
    assert ("\nAnswered unsure, grouped (what the articles barely cover):\n"
            "     2  Who won the mayoral election?  (also: who won the mayor race)\n"
            "     1  When was the bridge built?\n\n") in text.stdout
    html = page.read_text(encoding="utf-8")
    assert "<b>3 (60%)</b>hedged" in html
    assert "<h2>Answered unsure, grouped: what the articles barely cover</h2>\n<table>" in html
    assert "<td class=n>2</td><td>Who won the mayoral election?</td><td>who won the mayor race</td>" in html
    shown = json.loads(cli("report", "--json", db=db).stdout)
    assert (shown["questions"], shown["declined"], shown["hedged"]) == (5, 1, 3)
    assert shown["unsure"] == [{"q": "Who won the mayoral election?", "count": 2, "also": ["who won the mayor race"]},
                               {"q": "When was the bridge built?", "count": 1, "also": []}]
    assert shown["unanswered"] == [{"q": "What is the capital of Peru?", "count": 1, "also": []}]


def test_report_without_a_log_and_bad_days_are_one_clear_line(tmp_path):
    missing = cli("report", db=tmp_path / "none.sqlite")
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "no question log at" in missing.stderr and "Traceback" not in missing.stderr
    bad = cli("report", "--days", "0", db=tmp_path / "none.sqlite")
    assert bad.returncode == 2 and "--days must be between 1 and 36500, got 0" in bad.stderr
