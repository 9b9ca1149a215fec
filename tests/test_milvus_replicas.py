"""Replicas sharing one Milvus: separate bot processes point ``BOT_MILVUS_URI`` at one server (here
``milvus-lite server`` on 127.0.0.1, the stand-in for a Milvus standalone server, see docs/deploy.md).
One process builds and publishes (``newsbot index``), two others answer from it, and a second
publish (an article changed) reaches both through the reload check the running bot makes
(``Engine.reload_if_changed``, polled every ``BOT_INDEX_CHECK_SECONDS``), without a restart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS, bot_process_env
from tests.test_milvus_faults import PROJECT, MilvusServer

QUESTION = "when was diplomatic relations established?"

# A replica: the engine the bot's doors share, in a process of its own, driven one line at a time
# (``ask QUESTION`` or ``check``, the periodic reload check) so the test waits on each reply.
REPLICA = """
import json, sys
from retrieval.engine import Engine
from retrieval.settings import Settings

engine = Engine(Settings.from_env())
engine.load()
print(json.dumps({"ready": engine._require()[0].version}), flush=True)
for line in sys.stdin:
    command, _, question = line.rstrip("\\n").partition(" ")
    if command == "check":
        changed = engine.reload_if_changed()
        print(json.dumps({"changed": changed, "version": engine._require()[0].version}), flush=True)
    else:
        answer = engine.answer(question)
        print(json.dumps({"version": engine._require()[0].version, "sentence": answer.answer_sentence,
                          "file": answer.passages[0].passage.file if answer.passages else None}), flush=True)
"""


class Replica:
    """One answering process; each request is a line in, one JSON line out."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-c", REPLICA], env=env, cwd=PROJECT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.version = self._reply()["ready"]

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the replica exited: {self.proc.stderr.read()[-2000:]}")
        return json.loads(line)

    def ask(self, question: str) -> dict:
        self.proc.stdin.write(f"ask {question}\n")
        self.proc.stdin.flush()
        return self._reply()

    def check(self) -> dict:
        self.proc.stdin.write("check\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def index(env: dict[str, str]) -> str:
    """``newsbot index`` as a process of its own; its output."""
    done = subprocess.run([sys.executable, "-m", "bot", "index"], env=env, cwd=PROJECT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


@pytest.fixture
def shared(tmp_path):
    """A Milvus server, a copy of the shipped articles, and the environment every process gets."""
    server = MilvusServer(tmp_path / "milvus-data")
    server.start()
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    env = bot_process_env(PYTHONPATH=str(PROJECT), HF_HUB_OFFLINE="1", BOT_STORE="milvus",
                          BOT_MILVUS_URI=server.uri, BOT_CORPUS_DIR=str(corpus),
                          BOT_INDEX_DIR=str(tmp_path / "index"), BOT_LOG_QUESTIONS="0")
    yield server, corpus, env
    server.stop()


def test_two_replicas_answer_from_one_milvus_and_both_pick_up_a_new_build_without_restart(shared):
    server, corpus, env = shared
    index(env)
    replicas = [Replica(env), Replica(env)]
    try:
        first = [r.ask(QUESTION) for r in replicas]
        assert replicas[0].version == replicas[1].version  # the same build, read through the same alias
        assert all("1992" in a["sentence"] for a in first) and first[0] == first[1]
        article = corpus / first[0]["file"]
        article.write_text(article.read_text(encoding="utf-8").replace("1992", "1993"), encoding="utf-8")
        index(env)  # a third process publishes the edit
        stale = [r.ask(QUESTION) for r in replicas]
        assert stale == first  # each still answers from the snapshot it holds until it checks
        checks = [r.check() for r in replicas]
        assert all(c["changed"] for c in checks) and checks[0]["version"] == checks[1]["version"] != first[0]["version"]
        after = [r.ask(QUESTION) for r in replicas]
        assert all("1993" in a["sentence"] and "1992" not in a["sentence"] for a in after)
        assert [r.check()["changed"] for r in replicas] == [False, False]  # nothing new: no reload
    finally:
        for r in replicas:
            r.close()
