"""Persistence for collab-notes: SQLModel tables over SQLite (or any SQLAlchemy URL).

Never imports :mod:`web`; needs nothing of :mod:`collab` at run time.
"""
