"""Wording rules that read an article's page while it is cleaned (build time); registered in ``retrieval/rules.py``.

Switching one off changes what is indexed, so the build records which were off and a build made with
others is rebuilt (``Engine.ensure_index``).
"""
