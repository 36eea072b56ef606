"""Reads of the update log that are not a note's load: heads, and what was typed lately.

Beside ``storage/updates.py``'s store, which writes the log and loads notes: the
periodic check of the open notes reads their heads in one query, and a restore
reads who typed in its last seconds (``collab/restoring.py``), each by rows, never
the whole log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from collab.persistence import ANONYMOUS
from storage.models import as_utc
from storage.sql import LOG, NOTE

RECENT_PAGE = 256  # log rows read at a time by recent_log, from the newest back
RECENT_SLACK_S = 5.0  # how far past its window recent_log reads (rows out of time order)


def heads(engine: Engine, notes: list[int]) -> dict[int, int]:
    """Each of ``notes``' head, in one query."""
    with engine.connect() as connection:
        found = connection.execute(select(NOTE.c.id, NOTE.c.head).where(NOTE.c.id.in_(notes))).all()
    return {int(note): int(head) for note, head in found}


def recent_log(engine: Engine, note: int, since: datetime) -> list[tuple[str, bytes]]:
    """The note's updates committed at ``since`` or later, with their authors, in order."""
    # From the head back, a page at a time: a few seconds' rows, never the whole log.
    # A row's time is taken before its transaction waits for the note's row, so two
    # processes' rows can be out of order by that wait: read RECENT_SLACK_S further.
    found: list[tuple[str, bytes]] = []
    stop = since - timedelta(seconds=RECENT_SLACK_S)
    below: int | None = None
    with engine.connect() as connection:
        while True:
            query = select(LOG.c.position, LOG.c.committed_at, LOG.c.author, LOG.c.data)
            query = query.where(LOG.c.note_id == note)
            if below is not None:
                query = query.where(LOG.c.position < below)
            page = connection.execute(
                query.order_by(LOG.c.position.desc()).limit(RECENT_PAGE)
            ).all()
            for position, at, author, data in page:
                below, at = position, as_utc(at)
                if at >= since:
                    found.append((author or ANONYMOUS, bytes(data)))
                elif at < stop:
                    return found[::-1]
            if len(page) < RECENT_PAGE:
                return found[::-1]
