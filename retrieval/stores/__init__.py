"""Where builds live: the ``Store`` protocol (``base``) and its implementations."""

from __future__ import annotations

from retrieval.settings import Settings


def make_store(settings: Settings):
    """The store the settings name (``BOT_STORE``); the local FAISS + BM25 folders by default."""
    from retrieval.stores.local import LocalStore

    return LocalStore(settings.index_dir, settings.index_type, settings.approximate_from)
