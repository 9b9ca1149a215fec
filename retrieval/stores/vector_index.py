"""The FAISS index over passage vectors, chosen by corpus size.

Exact inner-product search (``flat``) below ``approximate_from`` passages, where
it is fast and needs no tuning; above it an inverted-file index (``ivf``) whose
lists hold 4-bit product-quantised codes scanned with SIMD ("fast scan"), the best
``refine`` x k of them re-ranked on 8-bit codes (~1/4 the memory of the vectors
in all), or HNSW (``hnsw``). Candidates are then re-scored with the exact stored
vectors, so an approximate index only decides which passages are considered.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

KINDS = ("auto", "flat", "ivf", "hnsw")


@dataclass(frozen=True)
class IndexSpec:
    """Which index to build and how to search it; recorded in the manifest."""

    kind: str = "flat"
    nlist: int = 0
    nprobe: int = 0
    hnsw_m: int = 0
    ef_search: int = 0
    refine: int = 0  # ivf: how many times k candidates the 8-bit codes re-rank

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "IndexSpec":
        return cls(**{k: d[k] for k in ("kind", "nlist", "nprobe", "hnsw_m", "ef_search", "refine") if k in d})


def choose(kind: str, n: int, approximate_from: int = 50_000) -> IndexSpec:
    """The spec for ``n`` vectors; ``auto`` picks flat below ``approximate_from``."""
    if kind not in KINDS:
        raise ValueError(f"index type must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "auto":
        kind = "flat" if n < approximate_from else "ivf"
    if kind == "ivf":
        nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), max(n // 39, 1)))
        # a quarter of the lists: recall@10 (after exact re-scoring) 0.97 on MiniLM embeddings of generated
        # news passages, where 1/8 gave 0.91 and 1/16 0.82; the 4-bit codes blur near-duplicates, so the
        # 8-bit stage re-ranks 80 x k of them (at 1M, 10 x gave 0.82, 30 x 0.93, 60 x 0.97) (benchmarks/scale.py)
        return IndexSpec("ivf", nlist=nlist, nprobe=max(1, nlist // 4), refine=80)
    if kind == "hnsw":
        return IndexSpec("hnsw", hnsw_m=32, ef_search=128)  # recall@10 0.98-0.99 where 64 gave 0.93-0.96
    return IndexSpec("flat")


def build(vectors: np.ndarray, spec: IndexSpec, seed: int = 0, progress: bool = False):
    """A FAISS index holding ``vectors`` (row i = passage i) as ``spec`` says; ``progress`` shows a bar
    (rate, ETA) over the vectors added when that lasts over a second."""
    import faiss

    d = vectors.shape[1]  # ``vectors``: an array or on-disk rows (``rows.NpyRows``), read a block at a time
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    elif spec.kind == "ivf":
        codes = next(m for m in (d // 4, d // 2, d) if d % m == 0)  # 4 dimensions per 4-bit code
        index = faiss.index_factory(d, f"IVF{spec.nlist},PQ{codes}x4fsr,Refine(SQ8)", faiss.METRIC_INNER_PRODUCT)
        sample = vectors
        if len(vectors) > spec.nlist * 64:
            rng = np.random.default_rng(seed)
            sample = vectors[np.sort(rng.choice(len(vectors), spec.nlist * 64, replace=False))]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    else:
        raise ValueError(f"unknown index kind {spec.kind!r}")
    from tqdm import tqdm

    with tqdm(total=len(vectors), desc=f"{spec.kind} index", unit="vector", delay=1.0, disable=not progress) as bar:
        for start in range(0, len(vectors), 65536):
            chunk = np.ascontiguousarray(vectors[start:start + 65536], dtype=np.float32)
            index.add(chunk)
            bar.update(len(chunk))
    return index


def tune(index, spec: IndexSpec) -> None:
    """Apply the search-time parameters after loading."""
    import faiss

    if spec.kind == "ivf":
        faiss.extract_index_ivf(index).nprobe = spec.nprobe
        if spec.refine:
            faiss.downcast_index(index).k_factor = spec.refine
    elif spec.kind == "hnsw":
        faiss.downcast_index(index).hnsw.efSearch = spec.ef_search
