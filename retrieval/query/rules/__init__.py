"""Wording rules that read the question; each is one module, registered in ``retrieval/rules.py``."""
