"""One settings object for every door, read from the environment and ``.env``.

Values in the real environment win over ``.env``. Every field has an
environment variable; ``.env.example`` documents them all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "all-MiniLM-L6-v2"
# shown in /start, /help and hints; fits the shipped articles, so set BOT_EXAMPLE_QUESTION for your own
DEFAULT_EXAMPLE_QUESTION = "When were diplomatic relations between China and Kazakhstan established?"


def is_default_model(name: str) -> bool:
    """``name`` names the bundled default model (bare, or with its hub owner)."""
    return name.lower() in {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names it."""


def _load_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _int(env: dict, name: str, default: int, low: int = 0, high: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low:
        raise SettingsError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise SettingsError(f"{name} must be at most {high}, got {value}")
    return value


def _float(env: dict, name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def _ids(env: dict, name: str) -> frozenset[int]:
    raw = env.get(name, "").replace(";", ",")
    out = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.add(int(part))
        except ValueError:
            raise SettingsError(f"{name} must be comma-separated numeric ids, got {part!r}") from None
    return frozenset(out)


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")


def _rules(env: dict, name: str) -> frozenset[str]:
    from retrieval.rules import UnknownRule, parse_rules

    try:
        return parse_rules(env.get(name, ""), name)
    except UnknownRule as exc:
        raise SettingsError(str(exc)) from None


def _path(env: dict, name: str, default: Path) -> Path:
    raw = env.get(name, "").strip()
    return Path(raw).expanduser().resolve() if raw else default


_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")  # Milvus names; builds add _<time>_<rand>_m


def _milvus_uri(env: dict) -> str:
    """BOT_MILVUS_URI as pymilvus takes it: an http(s) server address, or a Milvus Lite ``.db`` file path
    (made absolute: Milvus Lite keys its in-process server by path). Empty means the index folder's file."""
    raw = env.get("BOT_MILVUS_URI", "").strip()
    if not raw or raw.lower().startswith(("http://", "https://")):
        return raw
    if "://" in raw:
        raise SettingsError(f"BOT_MILVUS_URI must be http(s)://host:port or a path to a .db file, got {raw!r}")
    if not raw.endswith(".db"):
        raise SettingsError(f"BOT_MILVUS_URI as a Milvus Lite file must end in .db, got {raw!r}")
    return str(Path(raw).expanduser().resolve())


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_ROOT / "seeds"
    index_dir: Path = PROJECT_ROOT / ".index"
    model: str = DEFAULT_MODEL
    reranker: str = ""
    top_k: int = 3
    hedge_below: float = 0.55  # confidence under which an answer is shown as the closest match, not as certain
    max_question_chars: int = 1000
    passage_min_words: int = 60
    passage_max_words: int = 150
    batch_size: int = 32
    log_level: str = "INFO"
    telegram_token: str = field(default="", repr=False)
    telegram_api_base_url: str = ""
    telegram_allowed_users: frozenset[int] = frozenset()
    telegram_allowed_chats: frozenset[int] = frozenset()
    questions_per_minute: int = 20
    index_check_seconds: int = 30
    question_scripts: str = "auto"
    index_type: str = "auto"
    embed_backend: str = "onnx"
    model_cache_dir: Path = PROJECT_ROOT / ".cache" / "models"
    approximate_from: int = 50_000
    example_question: str = DEFAULT_EXAMPLE_QUESTION
    fetch_timeout: float = 20.0  # seconds, each of connect / read (newsbot add, watch)
    fetch_max_bytes: int = 5_000_000
    fetch_max_redirects: int = 5
    fetch_user_agent: str = ""  # "" = newsbot's own, naming itself
    watch_minutes: float = 30.0
    db_path: Path = PROJECT_ROOT / ".data" / "newsbot.sqlite"  # the question log and ratings
    log_questions: bool = True
    log_retention_days: int = 90
    store: str = "faiss"
    milvus_uri: str = ""
    milvus_token: str = field(default="", repr=False)
    milvus_collection: str = "newsbot"
    milvus_timeout: int = 10
    milvus_cache_rows: int = 5_000  # passages (with their vectors) a Milvus snapshot keeps read; 0: none
    milvus_index: str = "flat"       # the dense index a Milvus build creates: flat (exact), hnsw, ivf
    rules_off: frozenset[str] = frozenset()  # wording rules switched off (retrieval/rules.py)

    @property
    def milvus_target(self) -> str:
        """Where the Milvus store lives: a server URL, or a Milvus Lite file (the index folder's by default)."""
        return self.milvus_uri or str(self.index_dir / "milvus.db")

    @classmethod
    def from_env(cls, environ: dict | None = None, dotenv: Path | None = None) -> "Settings":
        """Settings from ``.env`` (project root or cwd) overlaid by the environment."""
        env: dict[str, str] = {}
        for candidate in [dotenv] if dotenv else [PROJECT_ROOT / ".env", Path.cwd() / ".env"]:
            env.update(_load_dotenv(candidate))
        env.update(os.environ if environ is None else environ)
        s = cls(
            corpus_dir=_path(env, "BOT_CORPUS_DIR", cls.corpus_dir),
            index_dir=_path(env, "BOT_INDEX_DIR", cls.index_dir),
            model=env.get("BOT_EMBED_MODEL", "").strip() or DEFAULT_MODEL,
            reranker=env.get("BOT_RERANKER_MODEL", "").strip(),
            top_k=_int(env, "BOT_TOP_K", 3, low=1, high=10),  # the search ranks 12 in full
            hedge_below=_float(env, "BOT_HEDGE_BELOW", 0.55, low=0.0, high=1.0),
            max_question_chars=_int(env, "BOT_MAX_QUESTION_CHARS", 1000, low=10),
            batch_size=_int(env, "BOT_BATCH_SIZE", 32, low=1),
            log_level=env.get("BOT_LOG_LEVEL", "INFO").strip().upper() or "INFO",
            telegram_token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip(),
            telegram_allowed_users=_ids(env, "TELEGRAM_ALLOWED_USERS"),
            telegram_allowed_chats=_ids(env, "TELEGRAM_ALLOWED_CHATS"),
            questions_per_minute=_int(env, "BOT_QUESTIONS_PER_MINUTE", 20, low=0),
            index_check_seconds=_int(env, "BOT_INDEX_CHECK_SECONDS", 30, low=0),
            question_scripts=env.get("BOT_QUESTION_SCRIPTS", "auto").strip().lower() or "auto",
            index_type=env.get("BOT_INDEX_TYPE", "auto").strip().lower() or "auto",
            embed_backend=env.get("BOT_EMBED_BACKEND", "onnx").strip().lower() or "onnx",
            model_cache_dir=_path(env, "BOT_MODEL_CACHE", cls.model_cache_dir),
            approximate_from=_int(env, "BOT_APPROXIMATE_FROM", 50_000, low=1),
            example_question=" ".join(env.get("BOT_EXAMPLE_QUESTION", "").split()) or DEFAULT_EXAMPLE_QUESTION,
            fetch_timeout=_float(env, "BOT_FETCH_TIMEOUT_SECONDS", 20.0, low=0.1, high=600),
            fetch_max_bytes=_int(env, "BOT_FETCH_MAX_BYTES", 5_000_000, low=1024),
            fetch_max_redirects=_int(env, "BOT_FETCH_MAX_REDIRECTS", 5, low=0, high=30),
            fetch_user_agent=" ".join(env.get("BOT_FETCH_USER_AGENT", "").split()),
            watch_minutes=_float(env, "BOT_WATCH_MINUTES", 30.0, low=0.01, high=7 * 24 * 60),
            db_path=_path(env, "BOT_DB_PATH", cls.db_path),
            log_questions=_bool(env, "BOT_LOG_QUESTIONS", True),
            log_retention_days=_int(env, "BOT_LOG_RETENTION_DAYS", 90, low=1, high=36500),
            store=env.get("BOT_STORE", "faiss").strip().lower() or "faiss",
            milvus_uri=_milvus_uri(env),
            milvus_token=env.get("BOT_MILVUS_TOKEN", "").strip(),
            milvus_collection=env.get("BOT_MILVUS_COLLECTION", "").strip() or "newsbot",
            milvus_timeout=_int(env, "BOT_MILVUS_TIMEOUT", 10, low=1),
            milvus_cache_rows=_int(env, "BOT_MILVUS_CACHE_ROWS", 5_000, low=0, high=10_000_000),
            milvus_index=env.get("BOT_MILVUS_INDEX", "flat").strip().lower() or "flat",
            rules_off=_rules(env, "BOT_RULES_OFF"),
        )
        if s.embed_backend not in ("onnx", "torch"):
            raise SettingsError(f"BOT_EMBED_BACKEND must be onnx or torch, got {s.embed_backend!r}")
        if s.index_type not in ("auto", "flat", "ivf", "hnsw"):
            raise SettingsError(f"BOT_INDEX_TYPE must be auto, flat, ivf or hnsw, got {s.index_type!r}")
        if s.question_scripts not in ("auto", "latin", "any"):
            raise SettingsError(f"BOT_QUESTION_SCRIPTS must be auto, latin or any, got {s.question_scripts!r}")
        if s.store not in ("faiss", "milvus"):
            raise SettingsError(f"BOT_STORE must be faiss or milvus, got {s.store!r}")
        if s.milvus_index not in ("flat", "hnsw", "ivf"):
            raise SettingsError(f"BOT_MILVUS_INDEX must be flat, hnsw or ivf, got {s.milvus_index!r}")
        if not _COLLECTION.fullmatch(s.milvus_collection):
            raise SettingsError("BOT_MILVUS_COLLECTION must be a letter or _ then up to 40 letters, digits or _, "
                                f"got {s.milvus_collection!r}")
        return s

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
