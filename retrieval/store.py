"""Vectors and passages on disk: FAISS index, metadata, manifest, atomic swap.

Layout of the index folder::

    CURRENT            name of the live version folder (replaced with os.replace)
    v-<time>-<rand>/   one complete build
        manifest.json  model, dimension, counts, corpus hashes, file sizes, format
        passages.jsonl one Passage per line, row i = vector i
        passages.faiss passage vectors
        sentences.npy  sentence vectors (row order = passages' sentences in order)
        lexical/       BM25 state (bm25s arrays + JSON)

A build is written into a fresh version folder and only then published by
replacing ``CURRENT``; a build killed at any moment leaves the old pointer,
so the previous index stays in place and answering.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexCorrupt, IndexMismatch, IndexMissing
from .lexical import Lexical
from .schema import Passage, Source

FORMAT_VERSION = 1
POINTER = "CURRENT"
REBUILD_HINT = "run `newsbot index` (or `python -m bot index`) to rebuild it"


@dataclass
class IndexData:
    """Everything a loaded index holds, checked for consistency."""

    path: Path
    manifest: dict
    passages: list[Passage]
    vectors: "faiss.Index"  # noqa: F821
    sentence_vectors: np.ndarray
    sentence_owner: np.ndarray  # passage row of each sentence row
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

    def read_manifest(self) -> dict | None:
        cur = self.current()
        if cur is None:
            return None
        try:
            return json.loads((cur / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write(self, passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray,
              lexical: Lexical, manifest: dict) -> Path:
        """Write a complete new version, then publish it by swapping the pointer."""
        import faiss

        self.root.mkdir(parents=True, exist_ok=True)
        name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        tmp = self.root / f".building-{name}"
        tmp.mkdir()
        index = faiss.IndexFlatIP(int(vectors.shape[1]))
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(index, str(tmp / "passages.faiss"))
        lines = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in passages)
        _write_file(tmp / "passages.jsonl", lines.encode("utf-8"))
        np.save(tmp / "sentences.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float32))
        lexical.save(tmp / "lexical")
        files = {}
        for f in sorted(tmp.rglob("*")):
            if f.is_file():
                files[f.relative_to(tmp).as_posix()] = f.stat().st_size
        manifest = {**manifest, "format_version": FORMAT_VERSION, "passages": len(passages),
                    "sentences": int(len(sentence_vectors)), "files": files}
        _write_file(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
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
            if child == keep or child.name == POINTER:
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
            raise IndexMismatch(
                f"the index in {cur} has format version {version}, this program reads {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        if manifest.get("model") != model:
            raise IndexMismatch(
                f"the index was built with model {manifest.get('model')!r} but BOT_EMBED_MODEL is {model!r}; "
                f"{REBUILD_HINT}, or set BOT_EMBED_MODEL back"
            )
        for rel, size in manifest.get("files", {}).items():
            f = cur / rel
            if not f.is_file() or f.stat().st_size != size:
                raise IndexCorrupt(f"index file {rel} is missing or truncated in {cur}; {REBUILD_HINT}")
        try:
            vectors = faiss.read_index(str(cur / "passages.faiss"))
            passages = [Passage.from_dict(json.loads(line))
                        for line in (cur / "passages.jsonl").read_text(encoding="utf-8").splitlines() if line]
            sentence_vectors = np.load(cur / "sentences.npy", allow_pickle=False)
            lexical = Lexical.load(cur / "lexical")
        except Exception as exc:  # noqa: BLE001 - faiss/numpy/json raise many kinds
            raise IndexCorrupt(f"the index in {cur} is damaged ({type(exc).__name__}); {REBUILD_HINT}") from None
        owner = np.repeat(np.arange(len(passages)), [len(p.sentences) for p in passages])
        dim = manifest.get("dim")
        problems = []
        if vectors.ntotal != len(passages) or manifest.get("passages") != len(passages):
            problems.append(f"{vectors.ntotal} vectors for {len(passages)} passages")
        if vectors.d != dim or sentence_vectors.ndim != 2 or sentence_vectors.shape[1] != dim:
            problems.append(f"vector dimension differs from the manifest's {dim}")
        if len(sentence_vectors) != len(owner):
            problems.append(f"{len(sentence_vectors)} sentence vectors for {len(owner)} sentences")
        if lexical.size != len(passages):
            problems.append(f"lexical index covers {lexical.size} passages, not {len(passages)}")
        if problems:
            raise IndexCorrupt(f"the index in {cur} is inconsistent ({'; '.join(problems)}); {REBUILD_HINT}")
        sources = [Source.from_dict(s) for s in manifest.get("sources", [])]
        return IndexData(cur, manifest, passages, vectors, sentence_vectors, owner, lexical, sources)
