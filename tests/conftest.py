"""Shared fixtures: one real embedding model and one real index of the shipped articles."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from retrieval.embed.models import make_embedder  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import PROJECT_ROOT, Settings  # noqa: E402

pytest_plugins = ["tests.botapi_standin"]  # the Bot API stand-in's `botapi` fixture

SEEDS = PROJECT_ROOT / "seeds"
DEV_SET = PROJECT_ROOT / "eval" / "dev.jsonl"
# the question log of every test that does not choose its own: never the project's .data/
TEST_DATA = Path(tempfile.mkdtemp(prefix="newsbot-tests-"))
atexit.register(shutil.rmtree, TEST_DATA, True)
TEST_DB = TEST_DATA / "newsbot.sqlite"


def make_settings(corpus: Path, index: Path, **changes) -> Settings:
    """Settings isolated from the developer's environment and .env."""
    return Settings.from_env(environ={}, dotenv=Path("/nonexistent")).with_(
        corpus_dir=corpus, index_dir=index, **{"db_path": TEST_DB, **changes})


# the Telegram door as a real process with a stub engine (plumbing only), for ``python -c``
STUB_BOT = """
from retrieval.types import Answer
from retrieval.settings import Settings
from bot.telegram import run_telegram

class StubEngine:
    def sources(self):
        return []

    def answer(self, question):
        return Answer(question, declined=True, declined_reason="stub")

run_telegram(Settings.from_env(), StubEngine(), None, "127.0.0.1", 8080, None)
print("stopped cleanly", flush=True)
"""


def bot_process_env(**extra: str) -> dict[str, str]:
    """This process's environment without the bot's own settings (BOT_*, TELEGRAM_*), plus ``extra``:
    a developer's settings must not leak into a bot started as a subprocess (nor its log into .data/)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    return {**env, "BOT_DB_PATH": str(TEST_DB), **extra}


@pytest.fixture(scope="session")
def embedder():
    """The default embedder (ONNX int8 of the bundled MiniLM), loaded once for the session."""
    e = make_embedder(make_settings(SEEDS, PROJECT_ROOT / ".index"))
    e.warm_up()
    return e


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory, embedder) -> Path:
    """An index folder built once from the shipped articles; copy it before changing it."""
    index = tmp_path_factory.mktemp("seeds-index")
    Engine(make_settings(SEEDS, index), embedder=embedder).build(progress=False)
    return index


@pytest.fixture(scope="session")
def engine(seeds_index, embedder) -> Engine:
    """A loaded engine over the shipped articles (read-only: do not rebuild it)."""
    e = Engine(make_settings(SEEDS, seeds_index), embedder=embedder)
    e.load()
    return e


@pytest.fixture
def index_copy(seeds_index, tmp_path) -> Path:
    """A private copy of the shipped-articles index, safe to damage."""
    dest = tmp_path / "index"
    shutil.copytree(seeds_index, dest)
    return dest
