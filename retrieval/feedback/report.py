"""The operator's report: what was asked, what the articles do not answer or barely cover, and whether
answers helped.

``build_report`` turns logged rows into one plain dict (what ``newsbot report --json``
prints and ``report_html`` draws). The unanswered questions, and apart from them those
answered unsure (hedged), are grouped when they ask the same thing: exact repeats first
(case, spacing and end punctuation ignored), then by embedding similarity, greedily: the
most-asked question leads a group, and each next one joins the group whose leader it is
most similar to when the cosine similarity is at least ``GROUP_SIMILARITY``, else it
leads a new group.

>>> rows, ratings = read_log(settings.db_path, since=time.time() - 30 * 86400)   # doctest: +SKIP
>>> build_report(rows, ratings, embedder.encode, days=30)["unanswered"][:1]     # doctest: +SKIP
[{'q': 'Who won the mayoral race?', 'count': 4, 'also': ['who won the mayor election']}]
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from retrieval.feedback.log import QUESTION_COLUMNS, QuestionRow, Rating
from retrieval.types import UNUSABLE

# All-MiniLM-L6-v2 cosine similarity at which two unanswered questions count as one request. Measured on
# 16 paraphrase pairs and 16 pairs on the same subject asking different things (PARAPHRASES and DIFFERENT
# in tests/test_feedback_report.py): paraphrases scored 0.75-0.93, different questions 0.34-0.87 (most
# under 0.80). At 0.80, 13 of 16 paraphrases merge and 1 of 16 different pairs does; at 0.75, 15 and 3.
# 0.80 keeps "asks the same thing" strict: a wrongly split group still shows, twice; a wrongly merged
# one hides a request behind another's wording (the "also" wordings show what was merged).
GROUP_SIMILARITY = 0.8
LIST_LENGTH = 20  # entries per ranked list (unanswered and unsure groups, articles, most thumbs-down)
ALSO = 3  # other wordings shown per group


def read_log(path: Path, since: float) -> tuple[list[QuestionRow], list[Rating]]:
    """Questions and ratings logged at or after ``since`` (unix time). FileNotFoundError when there is no log."""
    if not path.is_file():
        raise FileNotFoundError(f"no question log at {path} yet (BOT_DB_PATH); it fills as people ask")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        has = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"questions", "ratings"} <= has:
            return [], []
        questions = [
            QuestionRow(a, at, door, chat, user, q, bool(declined), reason,
                        tuple(tuple(s) for s in json.loads(sources)), latency, bool(hedged), confidence)
            for a, at, door, chat, user, q, declined, reason, sources, latency, hedged, confidence in conn.execute(
                f"SELECT {', '.join(_columns(conn))} FROM questions WHERE at >= ? ORDER BY at", (since,))]
        ratings = [Rating(a, u, bool(up), at) for a, u, up, at in conn.execute(
            "SELECT answer_id, user_hash, up, at FROM ratings WHERE at >= ? ORDER BY at", (since,))]
    finally:
        conn.close()
    return questions, ratings


def _columns(conn: sqlite3.Connection) -> list[str]:
    """The questions' columns to select, 0 for those a file not yet upgraded lacks (read-only here, the report
    cannot add them; its rows read as not hedged, confidence 0)."""
    has = {r[1] for r in conn.execute("PRAGMA table_info(questions)")}
    return [c if c in has else "0" for c in QUESTION_COLUMNS]


def build_report(questions: Sequence[QuestionRow], ratings: Sequence[Rating],
                 encode: Callable[[list[str]], np.ndarray], days: int, now: float | None = None,
                 similarity: float = GROUP_SIMILARITY) -> dict:
    """The report over the last ``days`` days (``questions`` and ``ratings`` already limited to them)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    now = time.time() if now is None else now
    latencies = [q.latency_ms for q in questions]
    unanswered = [q.question for q in questions if q.declined and q.reason != UNUSABLE and q.question.strip()]
    unsure = [q.question for q in questions if q.hedged and q.question.strip()]
    return {
        "days": days,
        "questions": len(questions),
        "declined": sum(q.declined for q in questions),
        "hedged": sum(q.hedged for q in questions),
        "doors": dict(Counter(q.door for q in questions).most_common()),
        "feedback": {"up": sum(r.up for r in ratings), "down": sum(not r.up for r in ratings)},
        "unanswered": group_questions(unanswered, encode, similarity)[:LIST_LENGTH],
        "unsure": group_questions(unsure, encode, similarity)[:LIST_LENGTH],
        "top_articles": top_articles(questions),
        "most_down": most_down(questions, ratings),
        "latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        "per_day": per_day(questions, days, now),
    }


def group_questions(texts: Sequence[str], encode: Callable[[list[str]], np.ndarray],
                    similarity: float = GROUP_SIMILARITY) -> list[dict]:
    """``[{"q", "count", "also"}]``, most-asked first: questions that ask the same thing, counted together."""
    if not 0 < similarity <= 1:
        raise ValueError(f"similarity must be in (0, 1], got {similarity}")
    wordings: dict[str, Counter] = defaultdict(Counter)
    for text in texts:
        wordings[_key(text)][" ".join(text.split())] += 1
    keys = sorted(wordings, key=lambda k: -sum(wordings[k].values()))  # stable: first asked first among equals
    if not keys:
        return []
    shown = [wordings[k].most_common(1)[0][0] for k in keys]
    vectors = np.asarray(encode(shown), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    leaders: list[int] = []
    members: list[list[int]] = []
    for i in range(len(keys)):
        if leaders:
            scores = vectors[leaders] @ vectors[i]
            best = int(np.argmax(scores))
            if scores[best] >= similarity:
                members[best].append(i)
                continue
        leaders.append(i)
        members.append([i])
    groups = [{"q": shown[group[0]], "count": sum(sum(wordings[keys[i]].values()) for i in group),
               "also": [shown[i] for i in group[1:1 + ALSO]]} for group in members]
    return sorted(groups, key=lambda g: -g["count"])


def top_articles(questions: Sequence[QuestionRow]) -> list[dict]:
    """The articles whose passages answered most questions (each counted once per answer)."""
    counts: Counter = Counter()
    titles: dict[str, str] = {}
    for q in questions:
        if q.declined:
            continue
        for file, title in dict(q.sources).items():
            counts[file] += 1
            titles.setdefault(file, title)
    return [{"file": f, "title": titles[f], "count": n} for f, n in counts.most_common(LIST_LENGTH)]


def most_down(questions: Sequence[QuestionRow], ratings: Sequence[Rating]) -> list[dict]:
    """The answers with the most thumbs-down (at least one), with their question and the articles shown."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in ratings:
        tally[r.answer_id][0 if r.up else 1] += 1
    asked = {q.answer_id: q for q in questions}
    rows = []
    for answer_id, (up, down) in tally.items():
        q = asked.get(answer_id)
        if down and q is not None:
            rows.append({"q": q.question, "answer_id": answer_id, "down": down, "up": up, "declined": q.declined,
                         "files": [f for f, _ in q.sources]})
    return sorted(rows, key=lambda r: (-r["down"], r["up"]))[:LIST_LENGTH]


def per_day(questions: Sequence[QuestionRow], days: int, now: float) -> list[dict]:
    """Questions and declines for each of the last ``days`` local days, oldest first, zeros included."""
    asked, declined = Counter(), Counter()
    for q in questions:
        day = local_day(q.at)
        asked[day] += 1
        declined[day] += q.declined
    out = []
    for back in range(days - 1, -1, -1):
        day = local_day(now - back * 86400)
        out.append({"day": day, "questions": asked[day], "declined": declined[day]})
    return out


def local_day(at: float) -> str:
    """The operator's calendar day of a unix time, as YYYY-MM-DD."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


def _key(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?!.… ")


def _percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def report_text(report: dict) -> str:
    """The report as plain text for a terminal."""
    n, declined, hedged = report["questions"], report["declined"], report["hedged"]
    lat = report["latency_ms"]
    lines = [f"Last {report['days']} days: {n} questions, {declined} declined ({_share(declined, n)}), "
             f"{hedged} hedged ({_share(hedged, n)}).",
             f"Feedback: {report['feedback']['up']} 👍, {report['feedback']['down']} 👎.",
             f"Latency: p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}."]
    if report["doors"]:
        lines.append("Doors: " + ", ".join(f"{d} {c}" for d, c in report["doors"].items()) + ".")
    lines += ["", "Questions per day (declined):"]
    lines += [f"  {d['day']}  {d['questions']:4d} ({d['declined']})" for d in report["per_day"] if d["questions"]]
    lines += ["", "Unanswered, grouped (the articles to write next):", *_grouped(report["unanswered"])]
    lines += ["", "Answered unsure, grouped (what the articles barely cover):", *_grouped(report["unsure"])]
    lines += ["", "Articles cited most:"]
    lines += [f"  {a['count']:4d}  {a['title']} ({a['file']})" for a in report["top_articles"]] or ["  none"]
    lines += ["", "Answers with the most 👎:"]
    lines += [f"  {r['down']:4d} 👎 {r['up']:2d} 👍  {r['q']}" for r in report["most_down"]] or ["  none"]
    return "\n".join(lines)


def _grouped(groups: list[dict]) -> list[str]:
    """Unanswered and unsure groups (``group_questions``) as the same lines, so both read alike."""
    return [f"  {g['count']:4d}  {g['q']}" + (f"  (also: {'; '.join(g['also'])})" if g["also"] else "")
            for g in groups] or ["  none"]


def _share(count: int, n: int) -> str:
    return f"{count / n:.0%}" if n else "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"
