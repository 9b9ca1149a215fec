"""Wording rules that shape the text an index is built from (build time); registered in ``retrieval/rules.py``.

Switching one off changes what is indexed, so the build records which were off and a build made with
others is rebuilt (``Engine.ensure_index``).
"""
