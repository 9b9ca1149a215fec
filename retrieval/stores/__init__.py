"""Stores behind the seam in ``base.py``; ``make_store`` picks the one the settings name."""

from __future__ import annotations

from retrieval.settings import Settings


def make_store(settings: Settings):
    """The store BOT_STORE names: ``faiss`` (local files in BOT_INDEX_DIR) or ``milvus`` (BOT_MILVUS_URI).

    >>> store = make_store(Settings.from_env())
    """
    if settings.store == "milvus":
        from retrieval.stores.milvus import MilvusStore

        return MilvusStore(settings)
    from retrieval.stores.local import Store

    return Store(settings.index_dir)
