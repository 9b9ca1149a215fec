"""The Milvus store (``BOT_STORE=milvus``) on Milvus Lite, beside the local store: answer speed on the
shipped articles (both stores in one run, interleaved), and on a generated archive: answers, dense
and lexical candidate recall against exhaustive search, build throughput and peak memory.

    python benchmarks/milvus_speed.py                         # shipped articles only, ~3 min
    python benchmarks/milvus_speed.py --passages 100000       # plus a 100k archive (its build: ~1 h on Lite)

Every index is built through ``Engine.build``, as ``newsbot index`` does. The shipped articles are
embedded by the real model; the archive (``scale_corpus.py``, as ``scale.py`` makes it) gets pool
vectors (``PoolEmbedder``) in a child process measured for peak RSS, and its questions are encoded
by the real model. Milvus Lite runs inside the process that opens it, so its memory and its CPU
time are part of every figure here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from timing import (DATA, SEEDS, Table, bot_cmd, bot_env, dev_questions, identity_of, latencies, log,
                    measured_build, median, pct, reused_build, run_child, settings_for)

import numpy as np  # noqa: E402

from retrieval.engine import Engine  # noqa: E402
from retrieval.stores import milvus_snapshot  # noqa: E402
from retrieval.stores.milvus import FORMAT_VERSION, count_calls  # noqa: E402
from retrieval.stores.milvus_snapshot import B, K1, LEXICAL_WIDEN  # noqa: E402
from retrieval.text.words import tokenize  # noqa: E402
from scale import SEED, pool_cache, real_pool, write_corpus  # noqa: E402
from scale_corpus import GENERATOR_VERSION, ArticleGenerator, PoolEmbedder, SentenceBank  # noqa: E402

ANSWERS = 200        # warm answers timed on each store, interleaved
TARGET_MS = 25.0     # a warm answer on the shipped articles (issue 21)
BLOCK = 10_000       # rows per query when reading a whole build (under Milvus's 16,384 per query)
POOL = 2_000        # real-model embeddings behind the pool vectors (the size scale.py's 100k runs used)


# ------------------------------------------------------------------------------------- shipped articles


def shipped(table: Table, results: dict, answers: int) -> None:
    """Both stores built from the shipped articles; warm answers timed alternately, so load on the
    machine falls on both alike; then the first answers after a load (the row cache empty)."""
    questions = dev_questions()
    engines = {}
    for store in ("faiss", "milvus"):
        s = settings_for(SEEDS, DATA / f"milvus-shipped-{store}", store=store)
        shutil.rmtree(s.index_dir, ignore_errors=True)
        engine = Engine(s, embedder=engines["faiss"].embedder if engines else None)
        report = engine.build(progress=False)
        log(f"shipped: {store} built, {report.passages} passages in {report.seconds:.1f} s")
        results[f"shipped_build_s_{store}"] = report.seconds
        engines[store] = engine
    for engine in engines.values():
        for q in questions:
            engine.answer(q)
    calls = count_calls(engines["milvus"].store)
    ms: dict[str, list[float]] = {"faiss": [], "milvus": []}
    for i in range(answers):
        q = questions[i % len(questions)]
        for store in (("faiss", "milvus") if i % 2 == 0 else ("milvus", "faiss")):
            t = time.perf_counter()
            engines[store].answer(q)
            ms[store].append((time.perf_counter() - t) * 1000)
    per_answer = {m: n / answers for m, n in calls.items()}
    routes = hybrid_or_two_searches(engines["milvus"], questions, answers)
    results["shipped_milvus_candidates_ms"] = routes
    results["shipped_answer_ms"] = {k: {"p50": median(v), "p95": pct(v, 95), "n": len(v)} for k, v in ms.items()}
    results["milvus_calls_per_warm_answer"] = per_answer
    local, milvus = median(ms["faiss"]), median(ms["milvus"])
    table.add(f"one answer, warm, shipped articles, local store ({answers} answers)",
              f"{local:.1f} ms (p95 {pct(ms['faiss'], 95):.1f})", "n/a", None)
    table.add(f"one answer, warm, shipped articles, Milvus Lite ({answers}, interleaved with the local ones)",
              f"{milvus:.1f} ms (p95 {pct(ms['milvus'], 95):.1f}); {milvus / local:.2f}× the local store",
              f"≤ {TARGET_MS:.0f} ms", milvus <= TARGET_MS)
    table.add("Milvus calls per warm answer", ", ".join(f"{m} {n:.2f}" for m, n in sorted(per_answer.items())),
              "n/a", None)
    table.add(f"Milvus Lite warm answer, candidates from one hybrid_search vs two searches ({answers} each, "
              f"alternating)", f"{routes['hybrid']['p50']:.1f} ms (p95 {routes['hybrid']['p95']:.1f}) vs "
              f"{routes['two']['p50']:.1f} ms (p95 {routes['two']['p95']:.1f})", "n/a", None)
    engine = engines["milvus"]
    engine.load()  # a fresh snapshot: its row cache is empty
    cold = latencies(engine, [], questions)
    results["shipped_milvus_first_answers_ms"] = {"p50": median(cold), "p95": pct(cold, 95)}
    table.add(f"first answers after a load (row cache empty), Milvus Lite ({len(questions)} questions)",
              f"{median(cold):.1f} ms (p95 {pct(cold, 95):.1f})", "n/a", None)


def hybrid_or_two_searches(engine: Engine, questions: list[str], answers: int) -> dict:
    """Warm answers with the candidates from one ``hybrid_search`` (what the store does) and from the
    dense and the BM25 search made one after the other (what it did before), alternating."""
    snap = engine._require()[0]

    def two_searches(tokens, vector, k):
        return type(snap).lexical(snap, tokens, k, also=snap.dense(vector, k))

    ms: dict[str, list[float]] = {"hybrid": [], "two": []}
    for i in range(answers):
        q = questions[i % len(questions)]
        for route in (("hybrid", "two") if i % 2 == 0 else ("two", "hybrid")):
            if route == "two":
                snap.candidates = two_searches  # this snapshot only, for this answer
            t = time.perf_counter()
            engine.answer(q)
            ms[route].append((time.perf_counter() - t) * 1000)
            snap.__dict__.pop("candidates", None)
    return {k: {"p50": median(v), "p95": pct(v, 95), "n": len(v)} for k, v in ms.items()}


# ------------------------------------------------------------------------------------- a generated archive


def archive_settings(folder: Path):
    return settings_for(folder / "corpus", folder / "milvus-index", store="milvus")


def build_child(folder: Path, pool_file: Path) -> int:
    """Child mode: ``Engine.build`` of the archive into Milvus Lite with pool vectors; prints its report."""
    got = np.load(pool_file)
    report = Engine(archive_settings(folder), embedder=PoolEmbedder(got["pool"], str(got["identity"]))).build()
    print(json.dumps({"passages": report.passages, "articles": report.files, "seconds": report.seconds}), flush=True)
    return 0


def build_archive(folder: Path, passages: int, pool_file: Path, fresh: bool) -> dict:
    """The archive's Milvus build in a child process measured for peak RSS, unless a current one exists."""
    s = archive_settings(folder)
    stamp = {"generator": GENERATOR_VERSION, "format": FORMAT_VERSION, "passages": passages,
             "pool": pool_file.name, "seed": SEED}
    stamp_file = folder / "milvus-stamp.json"
    previous = reused_build(stamp_file, stamp, Path(s.milvus_target).is_dir(), fresh)  # not opened here: see below
    if previous is not None:
        log(f"archive: reusing the Milvus build made {previous['when']} (--fresh rebuilds it)")
        return previous
    shutil.rmtree(s.index_dir, ignore_errors=True)
    log(f"archive: Engine.build of {folder / 'corpus'} into Milvus Lite in a child process")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build-child", str(folder), "--pool-file", str(pool_file)]
    return measured_build(cmd, stamp_file, stamp, timeout=8 * 3600)


def whole(snap, field: str) -> list:
    """One field of every row of the build, in row order (read in blocks of ``BLOCK`` rows)."""
    out: list = []
    for lo in range(0, len(snap), BLOCK):
        recs = snap.store.call("query", snap.version, filter=f"row >= {lo} and row < {lo + BLOCK}",
                               output_fields=["row", field], limit=BLOCK)
        out += [r[field] for r in sorted(recs, key=lambda r: r["row"])]
    if len(out) != len(snap):
        raise RuntimeError(f"read {len(out)} rows of {field}, the build has {len(snap)}")
    return out


def dense_recall(snap, queries: np.ndarray) -> float:
    """Recall@10 of Milvus's dense search against exact inner products over every passage vector."""
    vectors = np.asarray(whole(snap, "vector"), dtype=np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    return float(np.mean([len(set(snap.dense(q, 10).tolist()) & set(e.tolist())) / 10
                          for q, e in zip(queries, exact)]))


def lexical_recall(snap, questions: list[str], k: int, widens: list[int]) -> dict[int, dict]:
    """For each BM25 widening (rows asked of Milvus per row kept, ``LEXICAL_WIDEN``): the recall of the
    snapshot's BM25 top ``k`` against exhaustive BM25 over every row, scored as the snapshot scores rows,
    and the median ms of one ``lexical`` call on a fresh snapshot (its rows' stems not cached yet)."""
    postings: dict[str, list[tuple[int, int]]] = {}
    lengths = np.zeros(len(snap), dtype=np.float32)
    for row, terms in enumerate(whole(snap, "terms")):
        stems = terms.split()
        lengths[row] = len(stems) or 1
        for t, f in Counter(stems).items():
            postings.setdefault(t, []).append((row, f))
    norm = K1 * (1 - B + B * lengths / snap.avgdl)
    wants = []
    for q in questions:
        tokens = [t for t in tokenize(q) if t in snap.df]
        scores = np.zeros(len(snap), dtype=np.float32)
        for t, n in Counter(tokens).items():
            rows, tf = (np.array(x) for x in zip(*postings[t]))
            scores[rows] += n * snap.idf(t) * tf / (tf + norm[rows])
        top = np.argsort(-scores, kind="stable")[:k]
        wants.append((tokens, set(top[scores[top] > 0].tolist())))
    out = {}
    for widen in widens:
        milvus_snapshot.LEXICAL_WIDEN = widen
        fresh = snap.store.open(snap.manifest["model"])
        recall, ms = [], []
        for tokens, want in wants:
            t0 = time.perf_counter()
            got = set(fresh.lexical(tokens, k)[0].tolist())
            ms.append((time.perf_counter() - t0) * 1000)
            recall.append(len(got & want) / len(want) if want else 1.0)
        out[widen] = {"recall": float(np.mean(recall)), "median_ms": median(ms)}
    milvus_snapshot.LEXICAL_WIDEN = LEXICAL_WIDEN
    return out


def archive(table: Table, results: dict, passages: int, fresh: bool, asked: int, widens: list[int]) -> None:
    folder = DATA / f"scale-{passages}"
    bank = SentenceBank.from_folder(SEEDS)
    model = Engine(settings_for(SEEDS, DATA / "unused-index")).embedder
    pool, held_out = real_pool(bank, model, POOL)
    articles = write_corpus(folder, bank, passages)
    build = build_archive(folder, passages, pool_cache(model, POOL), fresh)
    results["archive_build"] = build
    # first, while this process has not opened the build: Milvus Lite lets one process at a time open a file
    s = archive_settings(folder)
    mem = run_child(bot_cmd(s, "ask", "-", "--json"), stdin_text="\n".join(dev_questions()) + "\n",
                    env={**bot_env(s), "BOT_STORE": "milvus"}, measure_rss=True)
    results["archive_ask_rss_mb"] = mem["peak_rss_mb"]
    engine = Engine(s, embedder=model)
    engine.load()
    snap = engine._require()[0]
    n = len(snap)
    gen = ArticleGenerator(bank, seed=SEED)
    dev = dev_questions()
    questions = dev + gen.questions(asked, 100)  # as scale.py asks: from the 100th article on
    first = latencies(engine, gen.questions(5, 5000), questions)   # rows mostly not cached yet
    again = latencies(engine, [], questions)                        # the same questions: rows cached
    results["archive_answer_ms"] = {"first": {"p50": median(first), "p95": pct(first, 95)},
                                    "again": {"p50": median(again), "p95": pct(again, 95)}, "n": len(first)}
    table.add(f"one answer at {n:,} passages, Milvus Lite FLAT, first time ({len(first)} questions)",
              f"{median(first):.1f} ms (p95 {pct(first, 95):.1f})", "n/a", None)
    table.add(f"one answer at {n:,} passages, Milvus Lite FLAT, asked again (rows cached)",
              f"{median(again):.1f} ms (p95 {pct(again, 95):.1f})", "n/a", None)
    queries = np.concatenate([model.encode(dev), held_out[:asked]])
    dense = dense_recall(snap, queries)
    results["archive_dense_recall10"] = dense
    table.add(f"dense recall@10 vs exact search ({len(queries)} queries)", f"{dense:.3f}", "1.000 (FLAT is exact)",
              dense >= 0.999)
    k = engine.weights.candidates
    lexical = lexical_recall(snap, questions, k, sorted({1, LEXICAL_WIDEN, *widens}))
    results["archive_lexical_recall"] = {"k": k, "by_widen": lexical, "recall": lexical[LEXICAL_WIDEN]["recall"]}
    for widen, got in sorted(lexical.items()):
        table.add(f"lexical candidate recall@{k} vs exhaustive BM25 ({len(questions)} questions), "
                  f"{widen * k} BM25 rows asked of Milvus" + (" (the store's)" if widen == LEXICAL_WIDEN else ""),
                  f"{got['recall']:.3f} (one `lexical`, stems not cached: {got['median_ms']:.0f} ms)", "≥ 0.95",
                  got["recall"] >= 0.95)
    table.add(f"index build (`Engine.build`, {build['articles']:,} files → {build['passages']:,} passages)",
              f"{build['wall_s'] / 60:.1f} min ({build['passages'] / build['seconds']:.0f} passages/s); "
              f"peak RSS {build['peak_rss_mb']:.0f} MB (anonymous {build['peak_anon_mb']:.0f} MB)", "n/a", None)
    table.add(f"peak resident memory, `BOT_STORE=milvus bot ask -` ({len(dev)} questions; VmHWM)",
              f"{mem['peak_rss_mb']:.0f} MB (first answer after {mem['first_line_s']:.1f} s)", "n/a", None)
    table.notes.append(f"The archive: {articles:,} generated articles (`scale_corpus.py`, seed {SEED}); vectors from "
                       f"`PoolEmbedder` ({len(pool):,} real {identity_of(model)} embeddings plus noise); "
                       f"questions: the {len(dev)} dev questions and {asked} generated ones; dense recall queries: the dev "
                       f"questions and {asked} held-out real passage embeddings.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, default=0, help="also a generated archive of this many passages")
    ap.add_argument("--answers", type=int, default=ANSWERS, help="warm answers timed on each store")
    ap.add_argument("--questions", type=int, default=126,
                    help="generated questions (and held-out recall queries) on the archive, besides the dev ones")
    ap.add_argument("--widen", type=lambda v: [int(x) for x in v.split(",")], default=[],
                    help="also measure lexical recall asking Milvus for these multiples of k BM25 rows, e.g. 2,8")
    ap.add_argument("--skip-shipped", action="store_true", help="only the archive")
    ap.add_argument("--fresh", action="store_true", help="rebuild the archive's Milvus build")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--build-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pool-file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_child:
        return build_child(args.build_child, args.pool_file)
    if args.passages and args.passages < 1000:
        ap.error(f"--passages must be at least 1000, got {args.passages}")
    table, results = Table("Milvus store (Milvus Lite) beside the local store"), {}
    if not args.skip_shipped:
        shipped(table, results, args.answers)
    if args.passages:
        archive(table, results, args.passages, args.fresh, args.questions, args.widen)
    table.print(results, args.json or DATA / "milvus-speed-last-run.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
