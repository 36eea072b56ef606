"""Purging deleted notes once they can no longer be brought back.

A deleted note keeps its whole history for ``--deleted-note-retention-days``,
so that a slip can be undone; after that a task owned by the app's lifespan
removes it from the database, history and all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from collab.manager import RoomManager
from storage import notes
from storage.models import utcnow

logger = logging.getLogger("web.purge")

MAX_INTERVAL_S = 3600.0
"""How often to look for notes to purge, at most: they wait an hour past their window at worst."""


def retention(days: float) -> timedelta:
    """The window in which a deleted note can be restored."""
    return timedelta(days=days)


def restorable(deleted_at: datetime, days: float, now: datetime | None = None) -> bool:
    """Whether a note deleted at ``deleted_at`` may still be restored."""
    now = now or utcnow()
    return now.replace(tzinfo=None) - deleted_at.replace(tzinfo=None) < retention(days)


def purge_once(engine: Engine, rooms: RoomManager, days: float) -> list[int]:
    """Remove every note deleted longer ago than the window; returns their ids.

    Notes whose room is still loaded are left for the next round, so a room
    never writes to a note that is gone.
    """
    with Session(engine) as session:
        return notes.purge_deleted(
            session=session, deleted_before=utcnow() - retention(days), keep=set(rooms.rooms)
        )


@asynccontextmanager
async def purging(engine: Engine, rooms: RoomManager, days: float) -> AsyncIterator[None]:
    """Purge expired notes now and then, for as long as the context is open."""
    interval_s = min(MAX_INTERVAL_S, max(0.2, retention(days).total_seconds() / 10))

    async def run() -> None:
        while True:
            try:
                purged = await asyncio.to_thread(purge_once, engine, rooms, days)
            except Exception:  # a failed round is logged and retried next time
                logger.exception("purging deleted notes failed; will try again")
            else:
                if purged:
                    logger.info("purged %d deleted notes: %s", len(purged), purged)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(run(), name="purge deleted notes")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
