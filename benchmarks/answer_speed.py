"""Answer speed on the shipped corpus: a warm answer, questions per second from 16 threads, process
start to first answer, and peak resident memory of ``bot ask -``.

    python benchmarks/answer_speed.py            # ~2 min
    python benchmarks/answer_speed.py --quick    # fewer repeats

Answers go through ``Engine(settings)`` with its default embedder, as the bot calls it; start-up and
memory are measured on ``python -m bot ask`` in a fresh process on the index built here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from timing import (DATA, SEEDS, Table, bot_cmd, bot_env, dev_questions, identity_of, latencies, log, median,
                    pct, run_child, settings_for)

from retrieval.engine import Engine  # noqa: E402


def threaded_qps(engine: Engine, questions: list[str], per_thread: int, threads: int = 16) -> tuple[float, float]:
    """(questions per second, mean micro-batch size) of ``threads`` callers asking ``per_thread`` each."""
    before = engine._queries.batches
    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: [engine.answer(questions[(i * 7 + k) % len(questions)]) for k in range(per_thread)],
                      range(threads)))
    wall = time.perf_counter() - t
    return threads * per_thread / wall, threads * per_thread / max(1, engine._queries.batches - before)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    args = ap.parse_args()
    table, results = Table("answer speed, shipped corpus"), {}
    questions = dev_questions()
    s = settings_for(SEEDS, DATA / "shipped-index")
    shutil.rmtree(s.index_dir, ignore_errors=True)
    engine = Engine(s)
    log(f"building the shipped corpus with {identity_of(engine.embedder)}")
    report = engine.build(progress=False)
    results["build"] = {"passages": report.passages, "seconds": report.seconds}

    ms = latencies(engine, questions, questions * (2 if args.quick else 3))
    med = median(ms)
    results["answer_ms"] = {"median": med, "p90": pct(ms, 90), "p95": pct(ms, 95), "n": len(ms)}
    table.add("one answer, warm, shipped corpus (engine call)", f"{med:.1f} ms (p90 {pct(ms, 90):.1f})",
              "≤ 8 ms", med <= 8)

    runs = [threaded_qps(engine, questions, 20 if args.quick else 40) for _ in range(3)]
    qps, batch = median(r[0] for r in runs), median(r[1] for r in runs)
    results["qps"] = {"median": qps, "runs": runs}
    table.add("questions per second, 16 threads calling engine.answer (shipped corpus)",
              f"{qps:.0f} q/s (mean batch {batch:.1f})", "≥ 150", qps >= 150)

    env = bot_env(s)
    starts = [run_child(bot_cmd(s, "ask", questions[0], "--json"), env=env) for _ in range(3 if args.quick else 5)]
    if not all(json.loads(r["first"]).get("q") == questions[0] for r in starts):
        raise RuntimeError(f"`bot ask` did not print an answer first: {starts[0]['first'][:200]!r}")
    first = median(r["first_line_s"] for r in starts)
    results["start_to_first_answer_s"] = [r["first_line_s"] for r in starts]
    table.add("process start to first answer, shipped corpus (`python -m bot ask`)",
              f"{first:.2f} s (exit {median(r['exit_s'] for r in starts):.2f} s)", "≤ 3 s", first <= 3)

    stdin = "\n".join(questions) + "\n"
    mem = [run_child(bot_cmd(s, "ask", "-", "--json"), stdin_text=stdin, env=env, measure_rss=True)
           for _ in range(3)]
    if any(r["lines"] < len(questions) for r in mem):
        raise RuntimeError(f"`bot ask -` answered {min(r['lines'] for r in mem)} of {len(questions)} questions")
    rss = median(r["peak_rss_mb"] for r in mem)
    results["peak_rss_mb"] = [r["peak_rss_mb"] for r in mem]
    table.add(f"peak resident memory, shipped corpus (`bot ask -`, {len(questions)} questions; VmHWM)",
              f"{rss:.0f} MB", "≤ 400 MB", rss <= 400)
    table.notes.append(f"Embedder {identity_of(engine.embedder)}; {report.passages} passages; "
                       f"{len(ms)} timed answers after a warm-up pass over the {len(questions)} dev questions.")
    table.print(results, args.json or DATA / "answer-speed-last-run.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
