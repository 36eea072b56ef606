"""Links changed by another process: close the connections they no longer open.

With one process, replacing a link or deleting a note closes its connections
where it happens (:mod:`web.routes.api`). With several (``--redis-url``), a link
replaced or a note deleted on one process must close the connections it admitted
on every process. The process that changed it announces the note on
Redis, and every process re-reads the note's links and closes the connections
whose link no longer opens it; since a Redis message can be lost, every process
also re-checks all its open notes' links every second, in one query. Cached
grants expire after a second too, so a replaced link opens nothing anywhere
once that second has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from sqlmodel import Session

from collab.errors import CloseCode
from collab.manager import RoomManager
from storage import notes as stored_notes
from web.access import DELETED_REASON, REPLACED_REASON, GrantCache
from web.background import running

logger = logging.getLogger("web.linkwatch")

LINK_CHECK_S = 1.0
"""How often every process re-reads its open notes' links (a lost announcement's worst case)."""
CLUSTER_GRANT_AGE_S = 1.0
"""How long a process trusts a link it resolved, when other processes may replace it."""


class LinkWatch:
    """Closes connections whose link another process replaced, or whose note it deleted."""

    def __init__(self, engine: Engine, rooms: RoomManager, grants: GrantCache) -> None:
        self._engine = engine
        self._rooms = rooms
        self._grants = grants
        self._pending: set[int] = set()
        self._wake = asyncio.Event()

    def changed(self, note: int) -> None:
        """Another process changed the note's links: check it now."""
        self._pending.add(note)
        self._wake.set()

    async def run(self) -> None:
        """Check announced notes at once, and every open note each :data:`LINK_CHECK_S`."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LINK_CHECK_S):
                    await self._wake.wait()
            self._wake.clear()
            announced, self._pending = self._pending, set()
            notes = announced | set(self._rooms.rooms)
            if not notes:
                continue
            try:
                links = await asyncio.to_thread(_links_of, self._engine, sorted(notes))
            except Exception as error:  # the database is away; the next round retries
                logger.debug("link check failed: %s", error)
                self._pending |= announced
                continue
            for note in notes:
                self._enforce(note, links.get(note))

    def _enforce(self, note: int, links: tuple[str, ...] | None) -> None:
        room = self._rooms.rooms.get(note)
        if links is None:  # deleted (or purged)
            self._grants.forget_note(note)
            if room is not None:
                room.disconnect_all(CloseCode.UNKNOWN_NOTE, DELETED_REASON)
            return
        self._grants.forget_note(note, keep=links)
        if room is None:
            return
        for peer in room.peers():
            if peer.admitted_by and peer.admitted_by not in links:
                peer.close(CloseCode.FORBIDDEN, REPLACED_REASON)


def _links_of(engine: Engine, notes: list[int]) -> dict[int, tuple[str, ...]]:
    with Session(engine) as session:
        return stored_notes.links_of(session=session, notes=notes)


@asynccontextmanager
async def watching(watch: LinkWatch | None) -> AsyncIterator[None]:
    """Run ``watch`` for as long as the context is open (nothing when None)."""
    if watch is None:
        yield
        return
    async with running(watch.run, "link watch"):
        yield
