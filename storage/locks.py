"""One process at a time per note, for work that rewrites a note's stored history.

Checkpoints and history thinning are built from the log's rows, never from a
process's memory; still, with several processes serving a note, two could
build the same checkpoint, or thin the same history, at once. On PostgreSQL the
work takes a transaction-scoped advisory lock on the note first and is skipped
(the other process is doing it) when it cannot have it. A SQLite file is served
by one process, whose own scheduling already runs this work one at a time.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

HISTORY = 0x636E  # the lock class of a note's stored history ("cn")
AUTHORS = 0x6361  # of a note's stored authors (``storage.attribution.level``: "ca")


def try_note_lock(connection: Connection, note: int, purpose: int = HISTORY) -> bool:
    """Take the note's lock for the rest of ``connection``'s transaction; False if taken."""
    if connection.dialect.name != "postgresql":
        return True
    found = connection.execute(
        text("SELECT pg_try_advisory_xact_lock(:purpose, :note)"),
        {"purpose": purpose, "note": note},
    ).scalar()
    return bool(found)
