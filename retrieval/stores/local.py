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

import contextlib
from array import array
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

import retrieval.stores.vector_index as vector_index
from retrieval.errors import IndexCorrupt, IndexMismatch, IndexMissing, IndexOutdated, IndexProblem
from retrieval.stores.base import Batch
from retrieval.stores.bm25 import Lexical
from retrieval.stores.bm25_build import LexicalSpool
from retrieval.stores.local_snapshot import LocalSnapshot, PassageTable
from retrieval.stores.rows import NpyRows
from retrieval.types import Source
from retrieval.stores.vector_index import IndexSpec

FORMAT_VERSION = 9  # 3: BM25 as postings + passage -> terms tables (lexical.py); 4: bare datelines kept as text;
# 5: a bare dateline keeps its time; 6: BM25 completes names used in part (names.py); 7: bylines;
# 8: each source keeps the names of its lead sentence; 9: dates as YYYY-MM-DD, outlets as proper names (metadata.py)
POINTER = "CURRENT"
LOCK = ".lock"
VERIFY_UP_TO = 256 * 1024 * 1024  # files up to this size are checksummed at every load
log = logging.getLogger(__name__)
REBUILD_HINT = "run `newsbot index` (or `python -m bot index`) to rebuild it"




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


def _to_npy(raw: Path, path: Path, dtype, dim: int) -> int:
    """Turn ``raw`` (rows of ``dim`` values appended by a build) into the ``.npy`` file ``np.save`` would
    write, copying it in blocks and removing it; returns the row count.

    Loading it whole first held every sentence vector at once: 3.6 GB at 1M passages.
    """
    row_bytes = np.dtype(dtype).itemsize * dim
    size = raw.stat().st_size
    rows = size // row_bytes if row_bytes else 0
    if rows * row_bytes != size:
        raise ValueError(f"{raw} holds {size} bytes, not whole rows of {dim} values")
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": (rows, dim)}
    with open(raw, "rb") as src, open(path, "wb") as dst:
        np.lib.format.write_array_header_1_0(dst, header)
        shutil.copyfileobj(src, dst, 16 << 20)
    raw.unlink()
    return rows


def _join_npy(parts: list[Path], path: Path, dtype) -> int:
    """The one-dimensional ``.npy`` file ``np.save`` would write of the records in ``parts`` (raw
    files appended by a build), in order; the parts are removed. Returns the record count."""
    size = np.dtype(dtype).itemsize
    rows = sum(p.stat().st_size for p in parts) // size
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": (rows,)}
    with open(path, "wb") as dst:
        np.lib.format.write_array_header_1_0(dst, header)
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, dst, 16 << 20)
            part.unlink()
    return rows


class LocalWriter:
    """One build being written into a hidden folder; batches go straight to disk.

    Passages, vectors, content hashes and BM25 term ids are appended to files as they come, so a
    build holds one batch plus an offset and a count per passage; the FAISS index, BM25 tables,
    manifest and checksums are made at ``publish``. (Keeping every BM25 text and hash until then
    was ~0.5 GB at 100k passages and grew with the corpus.)
    """

    def __init__(self, store: "LocalStore"):
        self.store = store
        self.name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        store.root.mkdir(parents=True, exist_ok=True)
        self.tmp = store.root / f".building-{self.name}"
        self.tmp.mkdir()
        self._passages = open(self.tmp / "passages.jsonl", "wb")
        self._vectors = open(self.tmp / "passages.f32", "wb")
        self._sentences = open(self.tmp / "sentences.f16", "wb")
        self._passage_keys = open(self.tmp / "keys.passages.raw", "wb")
        self._sentence_keys = open(self.tmp / "keys.sentences.raw", "wb")
        self._offsets, self._counts = array("q", [0]), array("q")  # 8 bytes a passage, not a Python int
        self._lexical = LexicalSpool(self.tmp / ".lexical-spool")
        self.dim = 0

    def add(self, batch: Batch) -> None:
        n = len(batch.passages)
        if not n:
            return
        vectors = np.ascontiguousarray(batch.passage_vectors, dtype=np.float32)
        self.dim = self.dim or vectors.shape[1]
        if vectors.shape != (n, self.dim) or batch.sentence_vectors.shape[1:] != (self.dim,):
            raise ValueError(f"a batch of {n} passages came with vectors of shape {vectors.shape}")
        for passage in batch.passages:
            line = (json.dumps(passage.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
            self._passages.write(line)
            self._offsets.append(self._offsets[-1] + len(line))
            self._counts.append(len(passage.sentences))
        self._vectors.write(vectors.tobytes())
        self._sentences.write(np.ascontiguousarray(batch.sentence_vectors, dtype=np.float16).tobytes())
        keys = np.asarray(batch.keys, dtype="S20")
        self._passage_keys.write(keys[:n].tobytes())
        self._sentence_keys.write(keys[n:].tobytes())
        self._lexical.add(batch.lexical_texts)

    def publish(self, manifest: dict, progress: bool = False) -> str:
        """Finish the folder, then swap the pointer; concurrent builds take turns (a lock file)."""
        self._finish(manifest, progress)
        with open(self.store.root / LOCK, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                final = self.store.root / self.name
                os.replace(self.tmp, final)
                _fsync_dir(self.store.root)
                self.store.point_to(self.name)
                self.store.collect(keep=final)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return self.name

    def _files(self):
        return (self._passages, self._vectors, self._sentences, self._passage_keys, self._sentence_keys)

    def abort(self) -> None:
        for fh in self._files():
            fh.close()
        self._lexical.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _finish(self, manifest: dict, progress: bool) -> None:
        import faiss

        tmp = self.tmp
        for fh in self._files():
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        n, dim = len(self._counts), self.dim
        _to_npy(tmp / "passages.f32", tmp / "passages.npy", np.float32, dim)
        spec = vector_index.choose(self.store.index_type, n, self.store.approximate_from)
        faiss.write_index(vector_index.build(NpyRows(tmp / "passages.npy"), spec, progress=progress),
                          str(tmp / "passages.faiss"))
        sentences = _to_npy(tmp / "sentences.f16", tmp / "sentences.npy", np.float16, dim)
        np.save(tmp / "passages.offsets.npy", np.asarray(self._offsets, dtype=np.int64))
        counts = np.asarray(self._counts, dtype=np.int64)
        np.save(tmp / "sentence_start.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        _join_npy([tmp / "keys.passages.raw", tmp / "keys.sentences.raw"], tmp / "keys.npy", "S20")
        self._lexical.write(tmp / "lexical", progress)
        files, checksums = {}, {}
        for f in sorted(tmp.rglob("*")):
            if f.is_file():
                rel = f.relative_to(tmp).as_posix()
                files[rel] = f.stat().st_size
                checksums[rel] = checksum(f)
        manifest = {**manifest, "dim": dim, "format_version": FORMAT_VERSION, "passages": n,
                    "sentences": sentences, "index": spec.to_dict(), "files": files,
                    "checksums": checksums}
        _write_file(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        for f in tmp.rglob("*.npy"):
            _fsync_file(f)
        _fsync_dir(tmp)


class LocalStore:
    """Versioned folders under ``root``, published by replacing the ``CURRENT`` pointer.

    A reader trusts the pointer first; when it is unreadable or names no folder, the newest
    version that verifies is served and the pointer repaired (Lucene's fallback to its last
    good commit point). A version that verifies is never removed because the pointer was bad.
    """

    def __init__(self, root: Path, index_type: str = "auto", approximate_from: int = 50_000):
        self.root = Path(root)
        self.index_type, self.approximate_from = index_type, approximate_from

    # -- the pointer ----------------------------------------------------------------------------

    def _pointed(self) -> str | None:
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return name if name and "/" not in name and (self.root / name / "manifest.json").is_file() else None

    def versions(self) -> list[Path]:
        """Complete version folders, newest first (their names start with the build time)."""
        if not self.root.is_dir():
            return []
        return sorted((c for c in self.root.iterdir() if c.name.startswith("v-") and c.is_dir()), reverse=True)

    def current(self) -> str | None:
        name = self._pointed()
        if name is None and self.versions():
            return "?"  # a version exists but the pointer is unreadable: ``open`` falls back
        return name

    def point_to(self, name: str) -> None:
        pointer_tmp = self.root / f".{POINTER}.{name}"
        _write_file(pointer_tmp, name.encode())
        os.replace(pointer_tmp, self.root / POINTER)
        _fsync_dir(self.root)

    def collect(self, keep: Path) -> None:
        """Remove older versions and leftovers of killed builds (after a successful publish only)."""
        for child in self.root.iterdir():
            if child == keep or child.name in (POINTER, LOCK):
                continue
            if child.name.startswith(("v-", ".building-", f".{POINTER}.")):
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    # -- writing and reading --------------------------------------------------------------------

    def writer(self, dim: int = 0, total: int = 0) -> LocalWriter:
        return LocalWriter(self)

    def open(self, model: str) -> LocalSnapshot:
        """Load and verify the live version; problems raise with what to run."""
        name = self._pointed()
        for _ in range(5):
            if name is None:
                break
            try:
                return self._open(self.root / name, model)
            except IndexProblem:
                # a build published meanwhile may have removed the version this read began with:
                # read the one the pointer names now; the same name again means real damage
                now = self._pointed()
                if now == name:
                    raise
                name = now
        versions = self.versions()
        if not versions:
            raise IndexMissing(f"no index found in {self.root}; {REBUILD_HINT}")
        problems = []
        for path in versions:
            try:
                snapshot = self._open(path, model)
            except IndexProblem as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            log.warning("the index pointer %s was unreadable; serving the newest version that verifies, %s, "
                        "and repairing the pointer", self.root / POINTER, path.name)
            with contextlib.suppress(OSError):
                self.point_to(path.name)
            return snapshot
        raise IndexCorrupt(f"the index pointer in {self.root} is unreadable and no version verifies; {REBUILD_HINT}")


    def _open(self, cur: Path, model: str) -> LocalSnapshot:
        import faiss

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
            try:  # one stat, not is_file() then stat(): a publish may remove this version between the two
                whole = f.stat().st_size == size
                same = whole and not (size <= VERIFY_UP_TO and rel in checksums and checksum(f) != checksums[rel])
            except OSError:
                whole = same = False
            if not whole:
                raise IndexCorrupt(f"index file {rel} is missing or truncated in {cur}; {REBUILD_HINT}")
            if not same:
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
            jsonl_size = (cur / "passages.jsonl").stat().st_size
        except Exception as exc:  # noqa: BLE001 - faiss/numpy/json raise many kinds
            raise IndexCorrupt(f"the index in {cur} is damaged ({type(exc).__name__}); {REBUILD_HINT}") from None
        n = len(passages)
        dim = manifest.get("dim")
        problems = []
        if vectors.ntotal != n or manifest.get("passages") != n or len(passage_vectors) != n:
            problems.append(f"{vectors.ntotal} vectors for {n} passages")
        if offsets[-1] != jsonl_size or np.any(np.diff(offsets) <= 0):
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
        return LocalSnapshot(cur, manifest, passages, vectors, passage_vectors, sentence_vectors, sentence_start,
                             keys, lexical, sources)

