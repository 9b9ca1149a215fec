"""Decline rules: each reads the best sentence and may give a reason to decline (``retrieval/rules.py``)."""
