"""Answers, recall and the build at scale: a generated archive of ``--passages`` passages, indexed by
the product's own build path (``Engine.build``, as ``newsbot index`` does) and answered by ``Engine``.

    python benchmarks/scale.py --passages 100000      # ~15 min the first time (pool, corpus, build)
    python benchmarks/scale.py --passages 1000000     # hours on a shared 2-core machine the first time

The corpus (``benchmarks/scale_corpus.py``) and its index are cached in ``benchmarks/.data/perf/``
and reused while the generator, pool and index format are unchanged (``--fresh`` rebuilds them).
Vectors are not encoded one by one: ``PoolEmbedder`` maps each text's hash to one of ``--pool`` real
model embeddings plus noise. Everything else of the build (reading, cleaning, splitting, names, BM25,
FAISS, writing, checksums) is the product's; it runs in a child process, so its peak resident memory
is the build's alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from timing import (DATA, SEEDS, Table, bot_cmd, bot_env, dev_questions, identity_of, latencies, log,
                    measured_build, median, pct, reused_build, run_child, settings_for)

import numpy as np  # noqa: E402

import retrieval.stores.vector_index as vector_index  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.split import make_passages  # noqa: E402
from retrieval.stores.local import FORMAT_VERSION, LocalStore  # noqa: E402
from retrieval.text.words import tokenize  # noqa: E402
from scale_corpus import GENERATOR_VERSION, ArticleGenerator, PoolEmbedder, SentenceBank  # noqa: E402

HELD_OUT = 1_000
TARGETS = {100_000: 15.0, 1_000_000: 25.0}  # median answer, ms (issue 6); sizes between take the larger
BUILD_RSS_TARGET_MB = 4096
ASK_RSS_TARGET_MB = 2560
# the pool's real embeddings stand for the built IVF index only when they make this many lists of its size
MIN_POOL_LISTS = 64
SEED = 3  # the generated archive's seed: its articles, and the questions about them


# ------------------------------------------------------------------------------------- pool of real vectors


def pool_cache(embedder, size: int) -> Path:
    key = f"{identity_of(embedder)}|{GENERATOR_VERSION}|{size}|{HELD_OUT}"
    return DATA / f"pool-{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"


def real_pool(bank: SentenceBank, embedder, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Real-model embeddings of ``size`` + HELD_OUT generated passages (another seed than the archive),
    encoded once and cached per embedder."""
    cache = pool_cache(embedder, size)
    if cache.is_file():
        got = np.load(cache)
        return got["pool"], got["held_out"]
    gen = ArticleGenerator(bank, seed=7)
    texts: list[str] = []
    for i in range(100_000):  # bounded; ~3,000 articles are enough
        texts.extend(p.context_text for p in make_passages(gen.article(i)))
        if len(texts) >= size + HELD_OUT:
            break
    texts = texts[:size + HELD_OUT]
    log(f"pool: encoding {len(texts)} generated passages with {identity_of(embedder)} once ({cache.name})")
    t = time.perf_counter()
    vecs = embedder.encode(texts, progress=True)
    log(f"pool: {len(texts) / (time.perf_counter() - t):.1f} passages/s")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, pool=vecs[:size], held_out=vecs[size:], identity=identity_of(embedder))
    return vecs[:size], vecs[size:]


# ------------------------------------------------------------------------------------- corpus and build


def write_corpus(folder: Path, bank: SentenceBank, target: int) -> int:
    """Generated article files until the engine's splitter makes ``target`` passages of them (cached)."""
    stamp = {"generator": GENERATOR_VERSION, "target": target, "seed": SEED}
    done = folder / "corpus.json"
    try:
        if json.loads(done.read_text()) ["stamp"] == stamp:
            return json.loads(done.read_text())["articles"]
    except (OSError, ValueError, KeyError):
        pass
    from tqdm import tqdm

    corpus = folder / "corpus"
    if corpus.exists():
        for f in corpus.iterdir():
            f.unlink()
    corpus.mkdir(parents=True, exist_ok=True)
    gen = ArticleGenerator(bank, seed=SEED)
    count = i = 0
    with tqdm(total=target, unit="passage", desc="corpus: articles written", smoothing=0.1) as bar:
        while count < target and i < 2_000_000:  # bounded: ~6 passages an article
            text, article = gen.text_and_article(i)
            (corpus / article.file).write_text(text, encoding="utf-8")
            got = len(make_passages(article))
            count += got
            bar.update(got)
            i += 1
    done.write_text(json.dumps({"stamp": stamp, "articles": i, "passages": count}))
    return i


def scale_settings(folder: Path, args) -> Settings:
    changes = {k: v for k, v in (("approximate_from", args.approximate_from), ("index_type", args.index_type))
               if v is not None}
    return settings_for(folder / "corpus", folder / "index", **changes)


def build_child(args) -> int:
    """Child mode: ``Engine.build`` of the corpus with pool vectors; prints its report as JSON."""
    folder = args.build_child
    got = np.load(args.pool_file)
    embedder = PoolEmbedder(got["pool"], str(got["identity"]))
    s = scale_settings(folder, args)
    report = Engine(s, embedder=embedder).build(progress=True)
    print(json.dumps({"passages": report.passages, "articles": report.files, "seconds": report.seconds,
                      "embedded": report.embedded}), flush=True)
    return 0


def build_index(folder: Path, args, pool_file: Path, results: dict) -> dict:
    """Build the scale index in a child process measured for peak RSS, unless a current one exists."""
    s = scale_settings(folder, args)
    spec = vector_index.choose(s.index_type, args.passages, s.approximate_from)
    stamp = {"generator": GENERATOR_VERSION, "format": FORMAT_VERSION, "passages": args.passages,
             "pool": pool_file.name, "index": spec.to_dict(), "seed": SEED}
    stamp_file = folder / "index-stamp.json"
    previous = reused_build(stamp_file, stamp, bool(LocalStore(s.index_dir).current()), args.fresh)
    if previous is not None:
        log(f"build: reusing the index built {previous['when']} (--fresh rebuilds it)")
        return previous
    import shutil

    shutil.rmtree(s.index_dir, ignore_errors=True)
    log(f"build: Engine.build of {folder / 'corpus'} in a child process (progress bars follow)")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--passages", str(args.passages),
           "--build-child", str(folder), "--pool-file", str(pool_file)]
    if args.approximate_from is not None:
        cmd += ["--approximate-from", str(args.approximate_from)]
    if args.index_type is not None:
        cmd += ["--index-type", args.index_type]
    build = measured_build(cmd, stamp_file, stamp, timeout=6 * 3600)
    log(f"build: {build['passages']:,} passages in {build['seconds']:.0f} s, peak RSS {build['peak_rss_mb']:.0f} MB")
    return build


# ------------------------------------------------------------------------------------- measurements


def exact_top10(snap, queries: np.ndarray) -> np.ndarray:
    """Rows of the exact inner-product top 10 of each query over all the snapshot's passage vectors."""
    n = len(snap)
    exact = np.zeros((len(queries), 10), dtype=np.int64)
    best = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    for start in range(0, n, 100_000):
        block = snap.passage_vectors(np.arange(start, min(n, start + 100_000)))
        sims = queries @ block.T
        k = min(10, sims.shape[1] - 1)
        top = np.argpartition(-sims, k, axis=1)[:, :10]
        cand_s = np.concatenate([best, np.take_along_axis(sims, top, 1)], axis=1)
        cand_i = np.concatenate([exact, top + start], axis=1)
        keep = np.argsort(-cand_s, axis=1)[:, :10]
        best, exact = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return exact


def dense_recall(snap, queries: np.ndarray, candidates: int) -> tuple[float, float]:
    """(raw, re-scored) recall@10 of ``snap.dense`` against exact search. Re-scored is what the engine
    does: the index's top ``candidates`` re-ranked on the exact vectors."""
    truth = exact_top10(snap, queries)
    raw = rescored = 0.0
    for q, vector in enumerate(queries):
        rows = snap.dense(vector, candidates)
        want = set(truth[q].tolist())
        raw += len(want & set(rows[:10].tolist())) / 10
        sims = snap.passage_vectors(rows) @ vector
        rescored += len(want & set(rows[np.argsort(-sims)[:10]].tolist())) / 10
    return raw / len(queries), rescored / len(queries)


def pool_spec(built: vector_index.IndexSpec, n: int, size: int) -> vector_index.IndexSpec:
    """The spec of the index built over ``n`` passages, scaled to ``size`` vectors: as many vectors a
    list and the same share of lists probed (re-ranking as deep). An IVF spec chosen *for* ``size``
    vectors is not what the benchmarked index is (the engine builds flat below ``approximate_from``,
    and ``choose`` at 2,000 vectors gives 51 lists of 39 where the 1M index has ~247 a list)."""
    if built.kind != "ivf" or not built.nlist:
        return built
    nlist = max(1, round(size * built.nlist / max(n, 1)))
    return vector_index.IndexSpec("ivf", nlist=nlist, nprobe=max(1, round(nlist * built.nprobe / built.nlist)),
                                  refine=built.refine)


def pool_recall(pool: np.ndarray, queries: np.ndarray, candidates: int,
                spec: vector_index.IndexSpec) -> float:
    """Recall@10 (re-scored on exact vectors, as the engine does) of an index of kind ``spec`` built over
    the real-model embeddings of the pool, against exact search over them. What the archive's own recall
    cannot show: its vectors are pool vectors plus noise, and real embeddings cluster more; with the
    built index's vectors a list and probe share (``pool_spec``), this is how that index's lists would
    cut real neighbours apart. A flat index is exact (1.0)."""
    index = vector_index.build(pool, spec)
    vector_index.tune(index, spec)
    exact = np.argsort(-(queries @ pool.T), axis=1)[:, :10]
    _, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), candidates)
    got = 0.0
    for q in range(len(queries)):
        rows = found[q][found[q] >= 0]
        top = rows[np.argsort(-(pool[rows] @ queries[q]))[:10]]
        got += len(set(exact[q].tolist()) & set(top.tolist())) / 10
    return got / len(queries)


def exhaustive_bm25(lex, tokens: list[str], k: int) -> list[int]:
    """The top ``k`` rows of BM25 with every posting list read whole (float64 sums; ties to the lower row)."""
    scores = np.zeros(lex.size)
    for i in lex._ids(tokens):
        entries = lex.postings[int(lex.postings_start[i]):int(lex.postings_start[i + 1])]
        scores[entries["id"]] += entries["score"]
    rows = np.flatnonzero(scores)
    return rows[np.lexsort((rows, -scores[rows]))[:k]].tolist()


def lexical_recall(snap, questions: list[str], k: int) -> dict:
    """Recall of the BM25 candidates (``Snapshot.lexical``: MaxScore, ``bm25_topk``) against the top ``k``
    of exhaustive BM25, the median ms of each search, the median postings a question's words hold and
    the median share of them the search read."""
    recall, held, share, ms = [], [], [], []
    lex = snap.terms
    for q in questions:
        tokens = tokenize(q)
        t = time.perf_counter()
        got = set(snap.lexical(tokens, k)[0].tolist())
        ms.append((time.perf_counter() - t) * 1000)
        whole = exhaustive_bm25(lex, tokens, k)
        recall.append(len(got & set(whole)) / len(whole) if whole else 1.0)
        ids = lex._ids(tokens)
        total = int(sum(lex.postings_start[i + 1] - lex.postings_start[i] for i in set(ids)))
        held.append(total)
        if total:
            share.append(lex.top(ids, k).postings / total)
    return {"recall": float(np.mean(recall)), "k": k, "median_ms": median(ms), "median_postings": median(held),
            "median_read_share": median(share) if share else 0.0}


def steps(engine: Engine, questions: list[str]) -> dict[str, float]:
    """Median ms of the answer's main steps, each timed on its own through the snapshot's protocol."""
    snap = engine._require()[0]
    k = min(len(snap), engine.weights.candidates)
    out: dict[str, list[float]] = {"encode": [], "dense": [], "lexical": []}
    for q in questions:
        t0 = time.perf_counter()
        v = engine._queries.encode_one(q)
        t1 = time.perf_counter()
        dense = snap.dense(v, k)
        t2 = time.perf_counter()
        snap.lexical(tokenize(q), k, also=dense)
        t3 = time.perf_counter()
        for name, seconds in zip(out, (t1 - t0, t2 - t1, t3 - t2)):
            out[name].append(seconds * 1000)
    return {name: median(v) for name, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passages", type=int, default=100_000, help="size of the generated archive (passages)")
    ap.add_argument("--pool", type=int, default=20_000, help="real-model embeddings behind the pool vectors")
    ap.add_argument("--fresh", action="store_true", help="regenerate the corpus and rebuild the index")
    ap.add_argument("--approximate-from", type=int, help="BOT_APPROXIMATE_FROM for the index (default: settings')")
    ap.add_argument("--index-type", choices=vector_index.KINDS, help="BOT_INDEX_TYPE (default: settings')")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--build-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pool-file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.passages < 1000:
        ap.error(f"--passages must be at least 1000, got {args.passages}")
    if args.build_child:
        return build_child(args)

    table = Table(f"scale benchmark, {args.passages:,} passages")
    results: dict = {}
    folder = DATA / f"scale-{args.passages}"
    bank = SentenceBank.from_folder(SEEDS)
    s = scale_settings(folder, args)
    model = Engine(settings_for(SEEDS, DATA / "unused-index")).embedder
    pool, held_out = real_pool(bank, model, args.pool)
    pool_file = pool_cache(model, args.pool)
    if args.fresh:
        (folder / "corpus.json").unlink(missing_ok=True)
    articles = write_corpus(folder, bank, args.passages)
    build = build_index(folder, args, pool_file, results)
    results["build"] = build

    engine = Engine(s)  # the default embedder encodes the questions, as the bot does
    t = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - t
    snap = engine._require()[0]
    n = len(snap)
    spec = snap.manifest.get("index", {})
    gen = ArticleGenerator(bank, seed=SEED)
    dev = dev_questions()
    questions = dev + gen.questions(126, 100)
    ms = latencies(engine, gen.questions(20, 5000), questions)
    p50, p95 = median(ms), pct(ms, 95)
    target = next((v for size, v in sorted(TARGETS.items()) if args.passages <= size), max(TARGETS.values()))
    part = steps(engine, dev)
    results["answer_ms"] = {"p50": p50, "p95": p95, "n": len(ms), "load_s": load_s, "steps": part}
    kind = spec.get("kind")
    detail = f", nlist {spec.get('nlist')}, nprobe {spec.get('nprobe')}, refine {spec.get('refine')}" \
        if kind == "ivf" else ""
    table.add(f"one answer at {n:,} passages ({kind} index{detail}; {len(ms)} questions)",
              f"{p50:.1f} ms (p95 {p95:.1f})", f"≤ {target:.0f} ms", p50 <= target)

    candidates = 30  # what the engine asks the vector index for
    queries = np.concatenate([model.encode(dev), held_out[:300]])
    raw, rescored = dense_recall(snap, queries, candidates)
    scaled = pool_spec(vector_index.IndexSpec.from_dict(spec), n, len(pool))
    per_list = n / max(spec.get("nlist") or 1, 1)
    if scaled.kind != "ivf" or scaled.nlist >= MIN_POOL_LISTS:
        real = pool_recall(pool, np.concatenate([model.encode(dev), held_out]), candidates, scaled)
        shape = (f"IVF {scaled.nlist} lists, {scaled.nprobe} probed: this index's {per_list:,.0f} vectors a list "
                 f"and share of lists probed" if scaled.kind == "ivf" else scaled.kind)
        real_text = f"{real:.3f} on {len(pool):,} real embeddings ({shape})"
    else:  # too few lists to stand for this index: say so rather than print a figure of another index
        real = None
        real_text = (f"real embeddings not measured: {len(pool):,} pool vectors make {scaled.nlist} lists of this "
                     f"index's {per_list:,.0f} vectors (≥ {MIN_POOL_LISTS} needed; --pool {MIN_POOL_LISTS * per_list:,.0f})")
    results["dense_recall"] = {"raw": raw, "rescored": rescored, "pool_spec": scaled.to_dict(), "pool_rescored": real}
    table.add("dense recall@10 vs exact search (index top 30 re-scored on exact vectors)",
              f"{rescored:.3f} here (raw {raw:.3f}); {real_text}", "≥ 0.95",
              min(rescored, 1.0 if real is None else real) >= 0.95)

    k = min(n, engine.weights.candidates)
    lex = results["lexical_recall"] = lexical_recall(snap, questions, k)
    table.add(f"lexical candidate recall@{k} vs exhaustive BM25 (MaxScore top {k}, `bm25_topk.py`)",
              f"{lex['recall']:.3f} ({lex['median_ms']:.1f} ms; a median question's words hold "
              f"{lex['median_postings']:,.0f} postings, {lex['median_read_share']:.0%} of them read)",
              "≥ 0.95", lex["recall"] >= 0.95)

    table.add(f"index build (`Engine.build`, {build['articles']:,} files → {build['passages']:,} passages)",
              f"{build['wall_s'] / 60:.1f} min; peak RSS {build['peak_rss_mb']:.0f} MB (anonymous "
              f"{build['peak_anon_mb']:.0f} MB, file-backed {build['peak_file_mb']:.0f} MB)",
              "peak RSS ≤ 4 GB", build["peak_rss_mb"] <= BUILD_RSS_TARGET_MB)

    stdin = "\n".join(dev) + "\n"
    mem = [run_child(bot_cmd(s, "ask", "-", "--json"), stdin_text=stdin, env=bot_env(s), measure_rss=True)
           for _ in range(2)]
    rss = median(r["peak_rss_mb"] for r in mem)
    results["ask_rss_mb"] = [{k: r[k] for k in ("peak_rss_mb", "peak_anon_mb", "peak_file_mb", "first_line_s")}
                             for r in mem]
    table.add(f"peak resident memory, `bot ask -` ({len(dev)} questions; VmHWM)",
              f"{rss:.0f} MB (anonymous {median(r['peak_anon_mb'] for r in mem):.0f} MB; first answer after "
              f"{median(r['first_line_s'] for r in mem):.1f} s)", "≤ 2.5 GB", rss <= ASK_RSS_TARGET_MB)

    rest = p50 - part["encode"] - part["dense"] - part["lexical"]
    table.notes.append(
        f"Of the {p50:.1f} ms median answer: query encoding {part['encode']:.1f} ms, the vector search "
        f"{part['dense']:.1f} ms, BM25 {part['lexical']:.1f} ms, candidate scoring, highlighting and the "
        f"answer ~{rest:.1f} ms (medians of each step timed alone; index loaded in {load_s:.1f} s).")
    table.notes.append(
        f"The archive: {articles:,} generated articles (`scale_corpus.py`, seed {SEED}) written as files and "
        f"built by `Engine.build` as `newsbot index` would; vectors from `PoolEmbedder` (each text's hash picks "
        f"one of {len(pool):,} real-model embeddings, plus noise, cosine ~0.9), questions encoded by "
        f"{identity_of(model)}. Its words come from the shipped articles' sentences, so common words occur "
        f"in far more passages than in a real archive: BM25 figures are pessimistic.")
    table.notes.append(
        f"Recall queries: the {len(dev)} dev questions plus held-out real passage embeddings. Lexical recall: "
        f"the share of exhaustive BM25's top {k} (every posting list read) that the store's search returns, over "
        f"{len(questions)} questions.")
    table.print(results, args.json or folder / "last-run.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
