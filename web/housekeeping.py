"""Housekeeping tasks owned by the app's lifespan: purging deleted notes, thinning history.

A deleted note keeps its whole history for ``--deleted-note-retention-days``,
so that a slip can be undone; after that it is removed, history and all. Every
note's history older than ``--history-days`` is thinned to one version a day
(``storage.retention``), and a note's files that neither its text nor any version
of that window names are collected with the purge (``storage.file_retention``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session

from collab.document import build
from collab.manager import RoomManager
from storage import file_retention, files, notes, spaces
from storage.models import utcnow
from storage.retention import cutoff_for as retention_cutoff
from storage.retention import notes_to_thin, thin
from storage.updates import SqlDocumentStore
from web.background import running

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


def purge_once(
    store: SqlDocumentStore, rooms: RoomManager, days: float, history_days: float
) -> tuple[list[int], int]:
    """Remove every note (and space) deleted longer ago than the window, and the files no
    text or version of the last ``history_days`` names (0: none), then the bytes no note
    has any more; returns the purged notes' ids and how many files notes lost.

    Notes whose room is still loaded are left for the next round, so a room
    never writes to a note that is gone.
    """
    with Session(store.engine) as session:
        before = utcnow() - retention(days)
        purged = notes.purge_deleted(session=session, deleted_before=before, keep=set(rooms.rooms))
        spaces.purge_deleted_spaces(session=session, deleted_before=before)
    now = utcnow()
    cutoff = retention_cutoff(history_days, now)
    collected = 0 if cutoff is None else file_retention.collect(store, cutoff, now)
    with Session(store.engine) as session:
        files.collect_blobs(session=session)  # the bytes no note has any more
    return purged, collected


def _purged_round(
    store: SqlDocumentStore, rooms: RoomManager, days: float, history_days: float
) -> str | None:
    purged, collected = purge_once(store, rooms, days, history_days)
    said = [f"purged {len(purged)} deleted notes: {purged}"] if purged else []
    if collected:
        said.append(f"collected {collected} files no text of the history window names")
    return "; ".join(said) or None


def purging(
    store: SqlDocumentStore, rooms: RoomManager, days: float, history_days: float
) -> AbstractAsyncContextManager[None]:
    """Purge expired notes and files now and then, for as long as the context is open."""
    interval_s = min(MAX_INTERVAL_S, max(0.2, retention(days).total_seconds() / 10))
    work = partial(_purged_round, store, rooms, days, history_days)
    return _every(interval_s, work, "purging deleted notes", "purge deleted notes")


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


def _thinned_round(store: SqlDocumentStore, days: float) -> str | None:
    thinned = thin_once(store, days)
    return f"thinned the old history of {thinned} notes" if thinned else None


@asynccontextmanager
async def thinning(store: SqlDocumentStore, days: float) -> AsyncIterator[None]:
    """Thin old history now and then (``--history-days``), for as long as the context is open."""
    if days <= 0:
        yield
        return
    work = partial(_thinned_round, store, days)
    async with _every(THIN_EVERY_S, work, "thinning old history", "thin old history"):
        yield


@asynccontextmanager
async def _every(
    interval_s: float, work: Callable[[], str | None], doing: str, name: str
) -> AsyncIterator[None]:
    """Run ``work`` in a thread every ``interval_s``, for as long as the context is open.

    What it returns is logged; a round that fails is logged (``doing`` failed) and
    the next one runs as planned.
    """

    async def run() -> None:
        while True:
            try:
                said = await asyncio.to_thread(work)
            except Exception:  # a failed round is logged and retried next time
                logger.exception("%s failed; will try again", doing)
            else:
                if said:
                    logger.info("%s", said)
            await asyncio.sleep(interval_s)

    async with running(run, name):
        yield
