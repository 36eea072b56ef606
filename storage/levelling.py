"""Which notes' stored authors are far behind their logs, and bringing many of them level
in a process of its own (``web/authors_keeper.py`` decides when).

A backfill (a note's whole history, nobody having asked for its authors) is
Python work of 10-40 us a log row: in a thread it held the GIL the event loop
needs, and joins and keystrokes of every other note waited for it. In a process
of its own, at a lower priority (:data:`NICENESS`), it takes only what the
server leaves of the machine.
"""

from __future__ import annotations

import os
import threading

from sqlalchemy import Engine, func, select

from storage.attribution import MARK, level
from storage.db import make_engine
from storage.sql import NOTE

NICENESS = 10  # added to the process's: the server's own work comes first


def behind(engine: Engine, rows: int, limit: int, after: int = 0) -> list[tuple[int, int, int]]:
    """Up to ``limit`` notes (not deleted, by id from ``after`` on) whose log's head is
    ``rows`` or more past the mark of their stored runs: (note, head, mark)."""
    mark = func.coalesce(MARK.c.position, 0)
    query = (
        select(NOTE.c.id, NOTE.c.head, mark)
        .select_from(NOTE.outerjoin(MARK, MARK.c.note_id == NOTE.c.id))
        .where(NOTE.c.id > after, NOTE.c.deleted_at.is_(None), NOTE.c.head - mark >= rows)
        .order_by(NOTE.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [(note, head, at) for note, head, at in connection.execute(query)]


def level_apart(url: str, notes: list[int], rows: int) -> int:
    """Bring each of ``notes`` level, ``rows`` log rows a step, on an engine of its own;
    the rows read. Meant for a process of its own (``collab.restore.run_apart``), whose
    priority it lowers (not a server thread's, where run_apart falls back to one)."""
    if threading.current_thread() is threading.main_thread():
        os.nice(NICENESS)
    engine = make_engine(url)
    total = 0
    try:
        for note in notes:
            while (read := level(engine, note, rows)) is not None:
                total += read
                if read < rows:
                    break
    finally:
        engine.dispose()
    return total
