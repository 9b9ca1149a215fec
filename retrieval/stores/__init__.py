"""Where builds live: the ``Store`` protocol (``base``) and its implementations; ``make_store`` picks one."""

from __future__ import annotations

from retrieval.settings import Settings


def make_store(settings: Settings):
    """The store BOT_STORE names: ``faiss`` (local FAISS + BM25 folders in BOT_INDEX_DIR, the default)
    or ``milvus`` (Milvus Lite or a Milvus server at BOT_MILVUS_URI).

    >>> store = make_store(Settings.from_env())
    """
    if settings.store == "milvus":
        from retrieval.stores.milvus import MilvusStore

        return MilvusStore(settings)
    from retrieval.stores.local import LocalStore

    return LocalStore(settings.index_dir, settings.index_type, settings.approximate_from)
