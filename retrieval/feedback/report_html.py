"""The report as one self-contained HTML page: inline CSS and SVG charts, no scripts, fonts or other files,
so it opens offline and can be mailed as one attachment. Every logged text is escaped. Ratings are
written "up" and "down", not as emoji, which a machine without an emoji font shows as empty boxes.

>>> Path("report.html").write_text(report_html(report), encoding="utf-8")   # doctest: +SKIP
"""

from __future__ import annotations

from html import escape

ASKED, DECLINED, UP, DOWN = "#3b6ea8", "#d9822b", "#2e8b57", "#c0392b"
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd}
.figures{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.figure{background:#f4f6f9;border-radius:8px;padding:.7rem 1rem;min-width:9rem}
.figure b{display:block;font-size:1.5rem}.muted{color:#666;font-size:.9rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;
vertical-align:top}th{font-weight:600}td.n{text-align:right;width:4rem;font-variant-numeric:tabular-nums}
.key{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin:0 .3rem 0 1rem;vertical-align:-1px}
svg text{font:11px system-ui,sans-serif;fill:#444}
"""


def report_html(report: dict, title: str = "Newsbot: what people asked") -> str:
    """The whole page for a ``build_report`` dict."""
    n, declined, hedged = report["questions"], report["declined"], report["hedged"]
    up, down = report["feedback"]["up"], report["feedback"]["down"]
    lat = report["latency_ms"]
    figures = [("questions", n), ("declined", f"{declined} ({declined / n:.0%})" if n else "0"),
               ("hedged", f"{hedged} ({hedged / n:.0%})" if n else "0"),
               ("rated up / down", f"{up} / {down}"), ("latency p50", _ms(lat["p50"])), ("latency p95", _ms(lat["p95"]))]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1><p class=muted>The last {int(report['days'])} days"
        + (", by door: " + escape(", ".join(f"{d} {c}" for d, c in report["doors"].items())) if report["doors"]
           else "") + ".</p>",
        '<div class=figures>' + "".join(f"<div class=figure><b>{escape(str(v))}</b>{escape(k)}</div>"
                                        for k, v in figures) + "</div>",
        "<h2>Questions and declines per day</h2>",
        f'<p class=muted><span class=key style="background:{ASKED}"></span>answered'
        f'<span class=key style="background:{DECLINED}"></span>declined</p>',
        per_day_svg(report["per_day"]),
        "<h2>Feedback</h2>", feedback_svg(up, down),
        "<h2>Unanswered questions, grouped: the articles to write next</h2>", _groups(report["unanswered"]),
        "<h2>Answered unsure, grouped: what the articles barely cover</h2>", _groups(report["unsure"]),
        "<h2>Articles cited most</h2>",
        _table(["answers", "title", "file"], [[a["count"], a["title"], a["file"]] for a in report["top_articles"]]),
        "<h2>Answers rated down most</h2>",
        _table(["down", "up", "question", "articles shown"],
               [[r["down"], r["up"], r["q"] + (" (declined)" if r["declined"] else ""), ", ".join(r["files"])]
                for r in report["most_down"]]),
        "</body></html>",
    ]
    return "\n".join(parts)


def per_day_svg(days: list[dict], width: int = 1040, height: int = 220) -> str:
    """Stacked bars per day: answered below, declined on top; a label every few days."""
    if not days:
        return "<p class=muted>No days in range.</p>"
    top = max(max(d["questions"] for d in days), 1)
    left, bottom, plot_h = 34, 24, height - 34
    slot = (width - left) / len(days)
    bar = max(1.0, slot * 0.75)
    every = max(1, round(len(days) / 12))
    out = [f'<svg role=img aria-label="questions and declines per day" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for tick in _ticks(top):
        y = height - bottom - plot_h * tick / top
        out.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, d in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        answered = d["questions"] - d["declined"]
        h_answered, h_declined = plot_h * answered / top, plot_h * d["declined"] / top
        base = height - bottom
        tip = escape(f"{d['day']}: {d['questions']} questions, {d['declined']} declined")
        out.append(f'<g><title>{tip}</title>'
                   f'<rect x="{x:.1f}" y="{base - h_answered:.1f}" width="{bar:.1f}" height="{h_answered:.1f}" '
                   f'fill="{ASKED}"/><rect x="{x:.1f}" y="{base - h_answered - h_declined:.1f}" width="{bar:.1f}" '
                   f'height="{h_declined:.1f}" fill="{DECLINED}"/></g>')
        if i % every == 0 or i == len(days) - 1:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                       f'{escape(d["day"][5:])}</text>')
    out.append("</svg>")
    return "".join(out)


def feedback_svg(up: int, down: int, width: int = 1040, height: int = 46) -> str:
    """One bar split into thumbs-up and thumbs-down, with the counts written in."""
    total = up + down
    if not total:
        return "<p class=muted>No ratings yet.</p>"
    w_up = width * up / total
    out = [f'<svg role=img aria-label="{up} thumbs up, {down} thumbs down" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="0" y="8" width="{w_up:.1f}" height="30" fill="{UP}"/>',
           f'<rect x="{w_up:.1f}" y="8" width="{width - w_up:.1f}" height="30" fill="{DOWN}"/>']
    if up:
        out.append(f'<text x="8" y="28" style="fill:#fff;font-size:14px">{up} up ({up / total:.0%})</text>')
    if down:
        out.append(f'<text x="{width - 8}" y="28" text-anchor="end" style="fill:#fff;font-size:14px">'
                   f'{down} down ({down / total:.0%})</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(top: int) -> list[int]:
    step = max(1, -(-top // 4))
    return list(range(0, top + 1, step))


def _groups(groups: list[dict]) -> str:
    """Unanswered and unsure groups (``group_questions``) in one kind of table, so both read alike."""
    return _table(["asked", "question", "also asked as"], [[g["count"], g["q"], "; ".join(g["also"])] for g in groups])


def _table(head: list[str], rows: list[list]) -> str:
    if not rows:
        return "<p class=muted>None.</p>"
    cells = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells.append("<tr>" + "".join(f"<td class=n>{v}</td>" if isinstance(v, int) else f"<td>{escape(str(v))}</td>"
                                      for v in row) + "</tr>")
    cells.append("</table>")
    return "".join(cells)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"
