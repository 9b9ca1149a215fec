"""Vectors and passages on disk: FAISS index, metadata, manifest, atomic swap.

Layout of the index folder::

    CURRENT              name of the live version folder (replaced with os.replace)
    v-<time>-<rand>/     one complete build
        manifest.json    model, dimension, index type, counts, corpus hashes, file sizes, format
        passages.jsonl   one Passage per line, row i = vector i
        passages.offsets.npy  byte offset of each line (rows are read on demand)
        passages.faiss   the FAISS index of passage vectors (flat, IVF or HNSW)
        passages.npy     exact passage vectors (re-scoring candidates, reuse across builds)
        sentences.npy    sentence vectors, float16, in passage order
        sentence_start.npy  first sentence row of each passage (n + 1 entries)
        keys.npy         content hash of every embedded text (passages, then sentences)
        lexical/         BM25: postings and passage -> terms tables, terms.json

A build is written into a fresh version folder and only then published by
replacing ``CURRENT``; a build killed at any moment leaves the old pointer,
so the previous index stays in place and answering. Large arrays stay on disk
and a question reads the rows it needs (``rows.NpyRows``), so a big index costs
disk rather than resident memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import retrieval.stores.vector_index as vector_index
from retrieval.errors import IndexCorrupt, IndexMismatch, IndexMissing, IndexOutdated
from retrieval.stores.bm25 import Lexical
from retrieval.progress import stage
from retrieval.stores.rows import NpyRows
from retrieval.types import Passage, Source
from retrieval.stores.vector_index import IndexSpec

FORMAT_VERSION = 9  # 3: BM25 as postings + passage -> terms tables (lexical.py); 4: bare datelines kept as text;
# 5: a bare dateline keeps its time; 6: BM25 completes names used in part (names.py); 7: bylines;
# 8: each source keeps the names of its lead sentence; 9: dates as YYYY-MM-DD, outlets as proper names (metadata.py)
POINTER = "CURRENT"
LOCK = ".lock"
VERIFY_UP_TO = 256 * 1024 * 1024  # files up to this size are checksummed at every load
REBUILD_HINT = "run `newsbot index` (or `python -m bot index`) to rebuild it"


class PassageTable:
    """Passages read from the JSONL file on demand; a small cache keeps hot rows parsed."""

    def __init__(self, path: Path, offsets: np.ndarray, cache_size: int = 4096):
        self._fd = os.open(path, os.O_RDONLY)  # rows are read with pread: nothing stays mapped (see rows.py)
        self._offsets = offsets
        self._cache: dict[int, Passage] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> Passage:
        got = self._cache.get(row)
        if got is not None:
            return got
        if not 0 <= row < len(self):
            raise IndexError(row)
        start, end = int(self._offsets[row]), int(self._offsets[row + 1])
        raw = os.pread(self._fd, end - start, start)
        passage = Passage.from_dict(json.loads(raw))
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[row] = passage
        return passage

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


@dataclass
class IndexData:
    """Everything a loaded index holds, checked for consistency."""

    path: Path
    manifest: dict
    passages: PassageTable
    vectors: "faiss.Index"  # noqa: F821
    passage_vectors: NpyRows   # exact, read by row
    sentence_vectors: NpyRows  # float16, read by row
    sentence_start: np.ndarray
    keys: NpyRows
    lexical: Lexical
    sources: list[Source]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def checksum(path: Path) -> str:
    """blake2b of a file's bytes (read in 1 MB blocks)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class Store:
    """Reads and atomically replaces the on-disk index under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def current(self) -> Path | None:
        pointer = self.root / POINTER
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        path = self.root / name
        return path if name and "/" not in name and path.is_dir() else None

    def write(self, passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray,
              lexical: Lexical, manifest: dict, keys: np.ndarray, spec: IndexSpec, progress: bool = False) -> Path:
        """Write a complete new version, then publish it by swapping the pointer.

        Concurrent writers take turns (a lock file), so one's clean-up never
        removes the other's unfinished folder.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self._write(passages, vectors, sentence_vectors, lexical, manifest, keys, spec, progress)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray,
               lexical: Lexical, manifest: dict, keys: np.ndarray, spec: IndexSpec, progress: bool) -> Path:
        import faiss

        name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        tmp = self.root / f".building-{name}"
        tmp.mkdir()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        faiss.write_index(vector_index.build(vectors, spec, progress=progress), str(tmp / "passages.faiss"))
        np.save(tmp / "passages.npy", vectors)
        offsets = [0]
        with open(tmp / "passages.jsonl", "wb") as fh:
            for p in stage(passages, "writing passages", progress, "passage"):
                line = (json.dumps(p.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
                fh.write(line)
                offsets.append(offsets[-1] + len(line))
            fh.flush()
            os.fsync(fh.fileno())
        np.save(tmp / "passages.offsets.npy", np.asarray(offsets, dtype=np.int64))
        counts = np.fromiter((len(p.sentences) for p in passages), dtype=np.int64, count=len(passages))
        np.save(tmp / "sentence_start.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        np.save(tmp / "sentences.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float16))
        np.save(tmp / "keys.npy", keys)
        lexical.save(tmp / "lexical")
        files, checksums = {}, {}
        for f in sorted(tmp.rglob("*")):
            if f.is_file():
                rel = f.relative_to(tmp).as_posix()
                files[rel] = f.stat().st_size
                checksums[rel] = checksum(f)
        manifest = {**manifest, "format_version": FORMAT_VERSION, "passages": len(passages),
                    "sentences": int(len(sentence_vectors)), "index": spec.to_dict(), "files": files,
                    "checksums": checksums}
        _write_file(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        for f in tmp.rglob("*.npy"):
            _fsync_file(f)
        _fsync_dir(tmp)
        final = self.root / name
        os.replace(tmp, final)
        _fsync_dir(self.root)
        pointer_tmp = self.root / f".{POINTER}.{name}"
        _write_file(pointer_tmp, name.encode())
        os.replace(pointer_tmp, self.root / POINTER)
        _fsync_dir(self.root)
        self._collect(keep=final)
        return final

    def _collect(self, keep: Path) -> None:
        """Remove old versions and leftovers of killed builds."""
        for child in self.root.iterdir():
            if child == keep or child.name in (POINTER, LOCK):
                continue
            if child.name.startswith(("v-", ".building-", f".{POINTER}.")):
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def load(self, model: str) -> IndexData:
        """Load and verify the live version; problems raise with what to run."""
        import faiss

        cur = self.current()
        if cur is None:
            raise IndexMissing(f"no index found in {self.root}; {REBUILD_HINT}")
        try:
            manifest = json.loads((cur / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"the index manifest in {cur} is unreadable ({exc}); {REBUILD_HINT}") from None
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            older = isinstance(version, int) and version < FORMAT_VERSION
            raise (IndexOutdated if older else IndexMismatch)(
                f"the index in {cur} has format version {version}, this program reads {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        if manifest.get("model") != model:
            raise IndexMismatch(
                f"the index was built with model {manifest.get('model')!r} but BOT_EMBED_MODEL is {model!r}; "
                f"{REBUILD_HINT}, or set BOT_EMBED_MODEL back"
            )
        checksums = manifest.get("checksums", {})
        for rel, size in manifest.get("files", {}).items():
            f = cur / rel
            if not f.is_file() or f.stat().st_size != size:
                raise IndexCorrupt(f"index file {rel} is missing or truncated in {cur}; {REBUILD_HINT}")
            if size <= VERIFY_UP_TO and rel in checksums and checksum(f) != checksums[rel]:
                raise IndexCorrupt(f"index file {rel} is damaged (its checksum changed) in {cur}; {REBUILD_HINT}")
        try:
            vectors = faiss.read_index(str(cur / "passages.faiss"))
            spec = IndexSpec.from_dict(manifest.get("index", {}))
            vector_index.tune(vectors, spec)
            passage_vectors = NpyRows(cur / "passages.npy")
            offsets = np.load(cur / "passages.offsets.npy", allow_pickle=False)
            passages = PassageTable(cur / "passages.jsonl", offsets)
            sentence_vectors = NpyRows(cur / "sentences.npy")
            sentence_start = np.load(cur / "sentence_start.npy", allow_pickle=False)
            keys = NpyRows(cur / "keys.npy")
            lexical = Lexical.load(cur / "lexical")
        except Exception as exc:  # noqa: BLE001 - faiss/numpy/json raise many kinds
            raise IndexCorrupt(f"the index in {cur} is damaged ({type(exc).__name__}); {REBUILD_HINT}") from None
        n = len(passages)
        dim = manifest.get("dim")
        problems = []
        if vectors.ntotal != n or manifest.get("passages") != n or len(passage_vectors) != n:
            problems.append(f"{vectors.ntotal} vectors for {n} passages")
        if offsets[-1] != (cur / "passages.jsonl").stat().st_size or np.any(np.diff(offsets) <= 0):
            problems.append("passage offsets do not match passages.jsonl")
        if vectors.d != dim or sentence_vectors.ndim != 2 or sentence_vectors.shape[1] != dim:
            problems.append(f"vector dimension differs from the manifest's {dim}")
        if len(sentence_start) != n + 1 or sentence_start[-1] != len(sentence_vectors):
            problems.append(f"{len(sentence_vectors)} sentence vectors for {sentence_start[-1] if len(sentence_start) else 0} sentences")
        if len(keys) != n + len(sentence_vectors):
            problems.append("content hashes do not cover every vector")
        if lexical.size != n:
            problems.append(f"lexical index covers {lexical.size} passages, not {n}")
        if problems:
            raise IndexCorrupt(f"the index in {cur} is inconsistent ({'; '.join(problems)}); {REBUILD_HINT}")
        sources = [Source.from_dict(s) for s in manifest.get("sources", [])]
        return IndexData(cur, manifest, passages, vectors, passage_vectors, sentence_vectors, sentence_start,
                         keys, lexical, sources)
