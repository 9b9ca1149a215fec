"""Errors whose message is written for the person running the bot."""


class IndexProblem(RuntimeError):
    """The index cannot be used; the message says what to run."""


class IndexMissing(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


class IndexOutdated(IndexMismatch):
    """Written by an older version of this program: safe to rebuild from the corpus."""


class IndexCorrupt(IndexProblem):
    pass


class CorpusProblem(RuntimeError):
    """The corpus folder cannot be read at all (missing, empty)."""


class StoreUnavailable(IndexProblem):
    """The store holding the index (a Milvus server, or the Milvus Lite file) cannot be reached;
    at start the message names BOT_MILVUS_URI."""


class StoreInterrupted(StoreUnavailable):
    """The store went away while serving: the doors say the archive is briefly unavailable and
    the next question tries again (the connection is re-made), so nothing needs a restart."""


class ModelProblem(RuntimeError):
    """The embedding model cannot be loaded or exported; the message names the folder or setting."""
