"""What every benchmark script shares: medians and percentiles, the results table, child processes
timed to their first line, and peak resident memory read from a small wrapper process.

>>> table = Table("answer speed")
>>> ms = latencies(engine, warm=questions, measured=questions * 3)
>>> table.add("one answer, warm", f"{median(ms):.1f} ms (p90 {pct(ms, 90):.1f})", "≤ 8 ms", median(ms) <= 8)
>>> table.print()
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # benchmarks never download a model

import numpy as np  # noqa: E402

from retrieval.settings import Settings  # noqa: E402

DATA = ROOT / "benchmarks" / ".data" / "perf"
SEEDS = ROOT / "seeds"
DEV = ROOT / "eval" / "dev.jsonl"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(values) -> float:
    return float(statistics.median(values))


def pct(values, q: float) -> float:
    return float(np.percentile(list(values), q))


def settings_for(corpus: Path, index: Path, **changes) -> Settings:
    """Default settings (no env, no .env) pointed at ``corpus`` and ``index``: runs do not depend on
    whoever's ``.env`` is in the folder."""
    base = Settings.from_env(environ={}, dotenv=Path("/nonexistent"))
    return base.with_(corpus_dir=corpus, index_dir=index, **changes)


def dev_questions() -> list[str]:
    return [json.loads(line)["q"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def identity_of(embedder) -> str:
    return str(getattr(embedder, "identity", None) or getattr(embedder, "name", type(embedder).__name__))


def latencies(engine, warm: list[str], measured: list[str]) -> list[float]:
    """Milliseconds per ``engine.answer`` call, one at a time, after a warm-up pass over ``warm``."""
    for q in warm:
        engine.answer(q)
    out = []
    for q in measured:
        t = time.perf_counter()
        engine.answer(q)
        out.append((time.perf_counter() - t) * 1000)
    return out


class Table:
    """Rows of figure / measured / target / result, with notes; printed as Markdown under a header
    that says when, on what, and how loaded the machine was (timings on a shared machine are noisy)."""

    def __init__(self, title: str):
        self.title = title
        self.rows: list[tuple[str, str, str, str]] = []
        self.notes: list[str] = []
        self.started = time.perf_counter()
        self.load_before = os.getloadavg()

    def add(self, figure: str, value: str, target: str, ok: bool | None) -> None:
        self.rows.append((figure, value, target, "n/a" if ok is None else ("pass" if ok else "MISS")))

    def markdown(self) -> str:
        lines = ["| figure | measured (median) | target | result |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)

    def print(self, results: dict | None = None, json_path: Path | None = None) -> None:
        """Print the table to stdout; with ``json_path``, also write the raw ``results`` there."""
        load_after = os.getloadavg()
        elapsed = time.perf_counter() - self.started
        print(f"\nnewsbot {self.title} — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        print(f"command: python {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}; {elapsed / 60:.1f} min; "
              f"load average {self.load_before[0]:.1f} at start, {load_after[0]:.1f} at end\n")
        print(self.markdown())
        for note in self.notes:
            print(f"\n- {note}")
        sys.stdout.flush()
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps({**(results or {}), "table": self.rows, "notes": self.notes,
                                             "elapsed_s": elapsed, "load_before": self.load_before,
                                             "load_after": load_after}, indent=2, default=str))


# ------------------------------------------------------------------------------------- child processes


# Peak RSS is read in a tiny wrapper process: a child forked straight from a large benchmark process would
# report that process's RSS as its high-water mark, because Linux carries ru_maxrss across exec. The wrapper
# also samples the child's /proc status (anonymous vs file-backed pages) and keeps a coarse timeline, so a
# peak can be matched to the build stage printed at that time.
_RSS_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "out = sys.argv[1]\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "peak = {'RssAnon': 0, 'RssFile': 0, 'VmRSS': 0}\n"
    "timeline, start, last = [], time.monotonic(), -1e9\n"
    "while p.poll() is None:\n"
    "    try:\n"
    "        now = {}\n"
    "        for line in open(f'/proc/{p.pid}/status'):\n"
    "            k, _, v = line.partition(':')\n"
    "            if k in peak: now[k] = int(v.split()[0])\n"
    "        for k, v in now.items(): peak[k] = max(peak[k], v)\n"
    "        t = time.monotonic() - start\n"
    "        if t - last >= 5 and now:\n"
    "            timeline.append((round(t), now.get('VmRSS', 0) // 1024)); last = t\n"
    "    except (OSError, ValueError):\n"
    "        pass\n"
    "    time.sleep(0.05)\n"
    "hwm = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "json.dump({'hwm_kb': hwm, 'anon_kb': peak['RssAnon'], 'file_kb': peak['RssFile'],\n"
    "           'timeline_s_mb': timeline}, open(out, 'w'))\n"
    "sys.exit(p.returncode)\n"
)


def run_child(cmd: list[str], stdin_text: str | None = None, env: dict | None = None,
              measure_rss: bool = False, stderr_to: Path | None = None, timeout: float = 600,
              pass_stderr: bool = False) -> dict:
    """Run ``cmd``: wall time to its first stdout line and to exit; with ``measure_rss``, its peak RSS
    (VmHWM), peak anonymous and file-backed RSS, and an RSS timeline every 5 s.

    ``stderr_to`` appends the child's stderr (progress bars) to a file instead of keeping it;
    ``pass_stderr`` lets it through to this process's stderr.
    """
    rss_file = DATA / f".rss-{os.getpid()}-{time.monotonic_ns()}.json"
    if measure_rss:
        rss_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-c", _RSS_WRAPPER, str(rss_file), *cmd]
    err_fh = open(stderr_to, "a", encoding="utf-8") if stderr_to else None
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=None if pass_stderr else (err_fh or subprocess.PIPE), cwd=ROOT, env=env,
                            text=True)
    err_chunks: list[str] = []
    if err_fh is None and not pass_stderr:  # drained on a thread: a chatty stderr must not block the child
        threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True).start()
    if stdin_text is not None:
        threading.Thread(target=lambda: (proc.stdin.write(stdin_text), proc.stdin.close()), daemon=True).start()
    else:
        proc.stdin.close()
    first = proc.stdout.readline()
    first_at = time.perf_counter() - started
    rest = proc.stdout.read()
    proc.wait(timeout=timeout)
    if err_fh is not None:
        err_fh.close()
    if proc.returncode != 0:
        why = f"see {stderr_to}" if err_fh else ("see above" if pass_stderr else "".join(err_chunks).strip()[-500:])
        raise RuntimeError(f"{' '.join(cmd[-6:])} failed ({proc.returncode}): {why}")
    out = {"first_line_s": first_at, "exit_s": time.perf_counter() - started,
           "lines": 1 + rest.count("\n"), "first": first, "stdout": first + rest}
    if measure_rss:
        got = json.loads(rss_file.read_text())
        rss_file.unlink()
        out.update(peak_rss_mb=got["hwm_kb"] / 1024, peak_anon_mb=got["anon_kb"] / 1024,
                   peak_file_mb=got["file_kb"] / 1024, rss_timeline=got["timeline_s_mb"])
    return out


def reused_build(stamp_file: Path, stamp: dict, present: bool, fresh: bool) -> dict | None:
    """The figures of the build recorded in ``stamp_file`` when it was made from ``stamp`` and is still
    ``present`` (and ``fresh`` does not ask for a new one); None when it must be built."""
    if fresh or not present:
        return None
    try:
        previous = json.loads(stamp_file.read_text())
        return previous["build"] if previous["stamp"] == stamp else None
    except (OSError, ValueError, KeyError):
        return None


def measured_build(cmd: list[str], stamp_file: Path, stamp: dict, timeout: float) -> dict:
    """Run a build child (its last stdout line is its report as JSON) measured for peak RSS, and record
    its figures beside ``stamp`` in ``stamp_file`` for ``reused_build``."""
    child = run_child(cmd, measure_rss=True, pass_stderr=True, timeout=timeout)
    build = {**json.loads(child["stdout"].strip().splitlines()[-1]), "wall_s": child["exit_s"],
             "peak_rss_mb": child["peak_rss_mb"], "peak_anon_mb": child["peak_anon_mb"],
             "peak_file_mb": child["peak_file_mb"], "rss_timeline_s_mb": child["rss_timeline"],
             "when": time.strftime("%Y-%m-%d %H:%M")}
    stamp_file.write_text(json.dumps({"stamp": stamp, "build": build}))
    return build


def bot_env(settings: Settings) -> dict:
    """The environment for ``python -m bot`` on ``settings``: the caller's, without its BOT_/TELEGRAM_
    variables, plus the settings' own; the questions a benchmark asks are not logged (they would fill an
    operator's question log and report)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update({"BOT_LOG_QUESTIONS": "false",
                "BOT_CORPUS_DIR": str(settings.corpus_dir), "BOT_INDEX_DIR": str(settings.index_dir),
                "BOT_EMBED_MODEL": settings.model, "BOT_EMBED_BACKEND": settings.embed_backend,
                "BOT_MODEL_CACHE": str(settings.model_cache_dir), "BOT_INDEX_TYPE": settings.index_type,
                "BOT_APPROXIMATE_FROM": str(settings.approximate_from), "HF_HUB_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)})
    return env


def bot_cmd(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--corpus", str(settings.corpus_dir), "--index-dir",
            str(settings.index_dir), *args]
