"""Build speed: ``Engine.build`` throughput against plain sentence-transformers fp32 on the same texts,
and a rebuild after changing one of the articles.

    python benchmarks/build_speed.py                  # 1000 generated articles: ~3 min on an idle machine
    python benchmarks/build_speed.py --articles 200   # quicker

The corpus is generated (``benchmarks/scale_corpus.py``) and embedded by the default embedder, as
``newsbot index`` does; the baseline runs in a fresh process on random samples of the same passages
and sentences and is projected to all of them (model load excluded).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from timing import DATA, SEEDS, Table, bot_env, identity_of, log, run_child, settings_for

import numpy as np  # noqa: E402

from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from scale_corpus import ArticleGenerator, SentenceBank  # noqa: E402


def st_baseline_main(texts_file: Path) -> int:
    """Child mode: plain sentence-transformers fp32 encode of each list of texts in ``texts_file``."""
    from retrieval.embed.models import resolve_model

    groups = json.loads(texts_file.read_text(encoding="utf-8"))
    t = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model(Settings().model), device="cpu")
    out = {"load_seconds": time.perf_counter() - t}
    model.encode(next(iter(groups.values()))[:32], batch_size=32)
    for name, texts in groups.items():
        t = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        out[name] = {"texts": len(texts), "seconds": time.perf_counter() - t}
    print(json.dumps(out))
    return 0


def encode_rates(encode, groups: dict[str, list[str]]) -> dict[str, float]:
    """Texts per second of ``encode`` on each group."""
    out = {}
    for name, texts in groups.items():
        t = time.perf_counter()
        encode(texts)
        out[name] = len(texts) / (time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=1000, help="generated articles to build (default 1000)")
    ap.add_argument("--sample", type=int, default=600, help="passages and sentences the baseline encodes")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    ap.add_argument("--st-baseline", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.st_baseline:
        return st_baseline_main(args.st_baseline)
    if args.articles < 2:
        ap.error(f"--articles must be at least 2, got {args.articles}")
    table, results = Table(f"build speed, {args.articles} articles"), {}
    folder = DATA / f"build-{args.articles}"
    shutil.rmtree(folder, ignore_errors=True)
    gen = ArticleGenerator(SentenceBank.from_folder(SEEDS), seed=2)
    gen.write(folder / "corpus", args.articles)
    s = settings_for(folder / "corpus", folder / "index")
    engine = Engine(s)
    log(f"full build of {args.articles} generated articles with {identity_of(engine.embedder)}")
    full = engine.build(progress=True)
    snap = engine._require()[0]
    passages = snap.passages(range(len(snap)))
    p_texts = list(dict.fromkeys(p.context_text for p in passages))  # the engine embeds each distinct
    s_texts = list(dict.fromkeys(x.text for p in passages for x in p.sentences))  # text once
    n_texts = len(p_texts) + len(s_texts)
    results["build"] = {"articles": args.articles, "passages": full.passages, "texts": n_texts,
                        "seconds": full.seconds, "embedded": full.embedded}

    rng = np.random.default_rng(0)
    sample = {name: [texts[i] for i in rng.choice(len(texts), min(args.sample, len(texts)), replace=False)]
              for name, texts in (("passages", p_texts), ("sentences", s_texts))}
    sample_file = folder / "st-sample.json"
    sample_file.write_text(json.dumps(sample), encoding="utf-8")
    log(f"sentence-transformers fp32 baseline on {args.sample} passages and {args.sample} sentences of the build")
    st = json.loads(run_child([sys.executable, str(Path(__file__).resolve()), "--st-baseline", str(sample_file)],
                              env=bot_env(s))["first"])
    st_rate = {name: st[name]["texts"] / st[name]["seconds"] for name in sample}
    own_rate = encode_rates(engine.embedder.encode, sample)
    st_seconds = len(p_texts) / st_rate["passages"] + len(s_texts) / st_rate["sentences"]
    st_passages_only = len(p_texts) / st_rate["passages"]
    ratio = st_seconds / full.seconds
    results["st_baseline"] = {**st, "rates": st_rate, "projected_seconds": st_seconds,
                              "projected_seconds_passages_only": st_passages_only, "default_rates": own_rate}
    table.add(f"index build throughput, {args.articles} articles ({full.passages:,} passages, {n_texts:,} "
              f"distinct texts to embed)",
              f"{full.passages / full.seconds:.1f} passages/s = {ratio:.2f}× sentence-transformers fp32 on the same "
              f"texts ({full.passages / st_seconds:.1f}/s)", "≥ 2×", ratio >= 2)
    table.notes.append(
        f"Build throughput: the whole `Engine.build` of {args.articles} generated articles (reading, cleaning, "
        f"embedding {len(p_texts):,} passages and {len(s_texts):,} sentences, BM25, index, writing): "
        f"{full.seconds:.0f} s. sentence-transformers fp32 in a fresh process (model load excluded) on "
        f"{len(sample['passages'])} random passages ({st_rate['passages']:.1f}/s) and {len(sample['sentences'])} "
        f"random sentences ({st_rate['sentences']:.1f}/s) of the same build, projected to all its texts: "
        f"{st_seconds:.0f} s. The default embedder ({identity_of(engine.embedder)}) encodes the same samples at "
        f"{own_rate['passages']:.1f} and {own_rate['sentences']:.1f} texts/s. A plain pipeline embedding only "
        f"the passages would take {st_passages_only:.0f} s: {st_passages_only / full.seconds:.2f}× the engine's.")

    # rebuild after changing one article, in a fresh engine (as `newsbot index` would)
    changed = args.articles // 2
    path = folder / "corpus" / f"{changed:07d}.txt"
    path.write_text(gen.text(changed, changed=1), encoding="utf-8")
    old_keys = set(np.asarray(snap.keys).tolist())
    engine2 = Engine(s)
    log("rebuild after changing one article")
    again = engine2.build(progress=True)
    snap2 = engine2._require()[0]
    rows = [p for p in snap2.passages(range(len(snap2))) if p.file == path.name]
    article_texts = len(rows) + sum(len(p.sentences) for p in rows)
    new_keys = set(np.asarray(snap2.keys).tolist()) - old_keys
    share = again.seconds / full.seconds
    only_that = 0 < again.embedded <= article_texts and len(new_keys) == again.embedded
    results["rebuild"] = {"seconds": again.seconds, "embedded": again.embedded, "reused": again.reused,
                          "article_texts": article_texts, "new_keys": len(new_keys), "share_of_full": share}
    table.add(f"rebuild after changing 1 of {args.articles} articles",
              f"{again.seconds:.1f} s = {share * 100:.1f}% of full ({full.seconds:.0f} s); embedded "
              f"{again.embedded} texts, all from that article ({article_texts} texts), reused {again.reused}",
              "only that article; ≤ 5%", only_that and share <= 0.05)
    table.print(results, args.json or folder / "last-run.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
