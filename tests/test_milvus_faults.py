"""Milvus as a separate server process (``milvus-lite server`` on 127.0.0.1), and what happens when it
or a build goes away: a build killed midway, the server stopped and started under a reader,
a server that is not there at all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import StoreInterrupted, StoreUnavailable
from retrieval.stores.milvus import MilvusStore
from tests.conftest import SEEDS, make_settings
from tests.test_store_contract import corpus, write  # noqa: F401 - the shared fixture

PROJECT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MilvusServer:
    """``milvus-lite server`` in a child process; ``start`` returns once it says it is listening."""

    def __init__(self, data: Path):
        self.data, self.port, self.proc = data, _free_port(), None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.data), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        for line in self.proc.stdout:  # waits on the server's own word, not a timer
            if "listening" in line:
                return
        raise RuntimeError(f"milvus-lite server exited with {self.proc.wait()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path):
    s = MilvusServer(tmp_path / "milvus-data")
    s.start()
    yield s
    s.stop()


def _store(uri: str, tmp_path: Path, **changes) -> MilvusStore:
    return MilvusStore(make_settings(SEEDS, tmp_path / "index", store="milvus", milvus_uri=uri, **changes))


KILLED_BUILD = """
import sys
sys.path.insert(0, {project!r})
import numpy as np
from tests.conftest import SEEDS, make_settings
from retrieval.stores.milvus import MilvusStore
from retrieval.stores.base import Batch
from retrieval.types import Passage, Sentence
store = MilvusStore(make_settings(SEEDS, __import__("pathlib").Path({index!r}), store="milvus", milvus_uri={uri!r}))
writer = store.writer(384, 1000)
p = Passage("x", "x.txt", "t", "", "", 0, 5, (Sentence("words here", 0, 5),))
v = np.ones((1, 384), dtype=np.float32)
writer.add(Batch((p,), v, v, np.array([b"a" * 20, b"b" * 20], dtype="S20"), ("words here",)))
print("added", flush=True)
sys.stdin.read()  # killed here, between two batches
"""


def test_a_build_killed_midway_leaves_the_alias_and_the_next_build_drops_its_collections(server, corpus, tmp_path):
    store = _store(server.uri, tmp_path)
    live = write(store, corpus, range(0, 10))
    child = subprocess.Popen([sys.executable, "-c", KILLED_BUILD.format(project=str(PROJECT), uri=server.uri,
                                                                        index=str(tmp_path / "index"))],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "added"
    child.send_signal(signal.SIGKILL)
    child.wait()
    orphans = set(store.builds()) - {live}
    assert len(orphans) == 1  # the killed build's collections are there, unpublished
    assert store.current() == live
    snap = store.open(corpus.model)
    assert len(snap) == 10 and snap.passages(np.arange(10)) == list(corpus.passages[:10])
    new = write(store, corpus, range(0, 20))
    assert set(store.builds()) == {live, new}  # the orphan is gone, the build before the live one kept


def test_a_reader_gets_store_interrupted_while_milvus_is_down_and_recovers_when_it_is_back(server, corpus, tmp_path):
    store = _store(server.uri, tmp_path)
    version = write(store, corpus)
    snap = store.open(corpus.model)
    query = corpus.passage_vectors[3]
    assert snap.dense(query, 1)[0] == 3
    server.stop()
    with pytest.raises(StoreInterrupted, match="BOT_MILVUS_URI=http://127.0.0.1"):
        snap.dense(query, 1)
    with pytest.raises(StoreInterrupted):
        store.current()
    server.start()
    assert store.current() == version  # the same store object, reconnected by itself
    assert snap.dense(query, 1)[0] == 3 and store.open(corpus.model).passages(np.array([3])) == [corpus.passages[3]]


def test_an_unreachable_milvus_is_one_line_naming_the_setting_without_credentials(tmp_path):
    store = _store(f"http://newsroom:s3cret@127.0.0.1:{_free_port()}", tmp_path, milvus_token="tok-s3cret",
                   milvus_timeout=2)
    with pytest.raises(StoreUnavailable) as caught:
        store.current()
    message = str(caught.value)
    assert "BOT_MILVUS_URI=http://127.0.0.1:" in message and "\n" not in message
    assert "s3cret" not in message and "newsroom" not in message
