"""Housekeeping tasks owned by the app's lifespan: purging deleted notes, thinning history.

A deleted note keeps its whole history for ``--deleted-note-retention-days``,
so that a slip can be undone; after that it is removed, history and all. Every
note's history older than ``--history-days`` is thinned to one version a day
(``storage.retention``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from collab.document import build
from collab.manager import RoomManager
from storage import notes, spaces
from storage.models import utcnow
from storage.retention import cutoff_for as retention_cutoff
from storage.retention import notes_to_thin, thin
from storage.updates import SqlDocumentStore

logger = logging.getLogger("web.housekeeping")

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
    """Remove every note (and space) deleted longer ago than the window; returns the notes' ids.

    Notes whose room is still loaded are left for the next round, so a room
    never writes to a note that is gone.
    """
    with Session(engine) as session:
        before = utcnow() - retention(days)
        purged = notes.purge_deleted(session=session, deleted_before=before, keep=set(rooms.rooms))
        spaces.purge_deleted_spaces(session=session, deleted_before=before)
        return purged


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


THIN_EVERY_S = 3600.0
"""How often old history is thinned: it is at most an hour late."""


def thin_once(store: SqlDocumentStore, days: float) -> int:
    """Thin every note with history older than ``days``; returns how many were thinned."""
    cutoff = retention_cutoff(days)
    if cutoff is None:
        return 0

    def state_at(note: int, position: int) -> bytes:
        return build(store.load_sync(note, upto=position).updates).get_update()

    thinned = 0
    for note in notes_to_thin(store.engine, cutoff):
        if thin(store.engine, note, cutoff, state_at) is not None:
            thinned += 1
    return thinned


@asynccontextmanager
async def thinning(store: SqlDocumentStore, days: float) -> AsyncIterator[None]:
    """Thin old history now and then (``--history-days``), for as long as the context is open."""
    if days <= 0:
        yield
        return

    async def run() -> None:
        while True:
            try:
                thinned = await asyncio.to_thread(thin_once, store, days)
            except Exception:  # a failed round is logged and retried next time
                logger.exception("thinning old history failed; will try again")
            else:
                if thinned:
                    logger.info("thinned the old history of %d notes", thinned)
            await asyncio.sleep(THIN_EVERY_S)

    task = asyncio.create_task(run(), name="thin old history")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
