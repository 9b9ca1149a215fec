"""Wording rules that read the candidates' text while ranking; registered in ``retrieval/rules.py``."""
