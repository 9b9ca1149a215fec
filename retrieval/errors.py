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


class ModelProblem(RuntimeError):
    """The embedding model cannot be loaded or exported; the message names the folder or setting."""
