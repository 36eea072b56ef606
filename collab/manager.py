"""Rooms by note: one room per note, loaded once, closed after a grace period.

Two connections racing to open the same note share one load and one room: the
room is created under a per-note lock. When the last peer leaves, the room stays
open for ``grace_s`` so a reload or a flaky network reconnects to the same room;
then it closes once its writes are committed, under the same lock, so a peer
arriving mid-close waits and then gets a freshly loaded room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

import pycrdt

from collab import document
from collab.channel import Channel
from collab.errors import CloseCode, PeerError
from collab.peer import Role
from collab.persistence import DocumentStore, StoredDocument
from collab.room import Room, RoomConfig, track_types
from collab.yencoding import TypeDepthTracker

logger = logging.getLogger("collab.manager")


class KeyedLock:
    """A lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RoomManager:
    """Owns every open room and the tasks that close them.

    Use as an async context manager; leaving it disconnects every peer with
    1001 and waits until every room's writes are committed.
    """

    def __init__(
        self,
        store: DocumentStore,
        config: RoomConfig | None = None,
        *,
        grace_s: float = 10.0,
        max_rooms: int = 10_000,
    ) -> None:
        self.store = store
        self.config = config or RoomConfig()
        self.grace_s = grace_s
        self.max_rooms = max_rooms
        self._rooms: dict[int, Room] = {}
        self._users: dict[int, int] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._locks = KeyedLock()
        self._tasks: asyncio.TaskGroup | None = None
        self._stopping = False
        self._nobody = asyncio.Event()
        self._nobody.set()

    async def __aenter__(self) -> RoomManager:
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
        assert self._tasks is not None
        await self._tasks.__aexit__(exc_type, exc, tb)

    @property
    def rooms(self) -> dict[int, Room]:
        """The open rooms by note (read-only view for callers; do not mutate)."""
        return self._rooms

    async def serve(
        self, note: int, channel: Channel, role: Role = Role.EDITOR, grant: str = ""
    ) -> None:
        """Serve a peer in the note's room, opening the room if needed."""
        try:
            room = await self._acquire(note)
        except PeerError as error:
            logger.warning("refused %s for note=%s: %s", channel.label, note, error.reason)
            await channel.close(error.code, error.reason)
            return
        try:
            await room.serve(channel, role, grant)
        finally:
            self._release(room)

    async def read_text(self, note: int) -> str:
        """The note's text: from its open room, else from the store (no room is opened)."""
        room = self._rooms.get(note)
        if room is not None:
            return str(room.text)
        stored = await self.store.load(note)
        return document.text(await asyncio.to_thread(document.build, stored.updates))

    async def _acquire(self, note: int) -> Room:
        if self._tasks is None or self._stopping:
            raise RuntimeError("RoomManager.serve() needs the manager entered and not stopping")
        async with self._locks.hold(note):
            room = self._rooms.get(note)
            if room is None:
                await self._make_space()
                started = time.perf_counter()
                stored = await self.store.load(note)
                doc, types = await asyncio.to_thread(self._build, stored)
                room = Room(
                    note,
                    doc,
                    self.store,
                    self.config,
                    unsnapshotted=stored.log_length,
                    types=types,
                    on_broken=self._forget,
                )
                self._rooms[note] = room
                logger.info(
                    "opened note=%s in %.0f ms (%d logged updates after its snapshot)",
                    note,
                    (time.perf_counter() - started) * 1000,
                    stored.log_length,
                )
            self._users[note] = self._users.get(note, 0) + 1
            self._nobody.clear()
            if (timer := self._timers.pop(note, None)) is not None:
                timer.cancel()
            return room

    def _build(self, stored: StoredDocument) -> tuple[pycrdt.Doc[pycrdt.Text], TypeDepthTracker]:
        doc = document.build(stored.updates)
        return doc, track_types(doc, self.config.limits)

    async def _make_space(self) -> None:
        """Unload idle rooms (in their grace period) when at the limit, oldest first."""
        idle = [self._rooms[note] for note in list(self._timers)]
        while len(self._rooms) >= self.max_rooms and idle:
            room = idle.pop(0)
            self._timers.pop(room.note).cancel()
            await self._close_if_idle(room)
        if len(self._rooms) >= self.max_rooms:
            raise PeerError(
                f"the server has its maximum of {self.max_rooms} notes open; try again later",
                CloseCode.TRY_AGAIN_LATER,
            )

    def _release(self, room: Room) -> None:
        if self._rooms.get(room.note) is not room:
            return  # the room broke and was dropped; nothing to close
        users = self._users[room.note] - 1
        self._users[room.note] = users
        if not any(self._users.values()):
            self._nobody.set()
        if users == 0 and not self._stopping:
            loop = asyncio.get_running_loop()
            self._timers[room.note] = loop.call_later(self.grace_s, self._close_later, room)

    def _close_later(self, room: Room) -> None:
        self._timers.pop(room.note, None)
        assert self._tasks is not None
        self._tasks.create_task(self._close_if_idle(room), name=f"close note {room.note}")

    async def _close_if_idle(self, room: Room) -> None:
        async with self._locks.hold(room.note):
            if self._users.get(room.note) or self._rooms.get(room.note) is not room:
                return  # someone came back during the grace period
            # Forget the room only once its writes are committed, so a reload cannot
            # read a store that is missing edits this room accepted.
            await asyncio.shield(room.close())
            self._forget(room)
            logger.info("closed note=%s", room.note)

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.note) is room:
            del self._rooms[room.note]
            self._users.pop(room.note, None)
            if not any(self._users.values()):
                self._nobody.set()

    def disconnect(
        self, note: int, code: CloseCode, reason: str, *, grant: str | None = None
    ) -> None:
        """Close the connections to a note's open room (only ``grant``'s, if given)."""
        room = self._rooms.get(note)
        if room is not None:
            room.disconnect_all(code, reason, grant=grant)

    async def shutdown(self, timeout_s: float = 5.0) -> None:
        """Disconnect everyone with 1001 and wait for every room's writes.

        Waits up to ``timeout_s`` for the peers' connections to close, so that
        they see 1001 rather than whatever the transport does when it stops.
        """
        if self._stopping:
            return
        self._stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        rooms = list(self._rooms.values())
        for room in rooms:
            room.disconnect_all(CloseCode.GOING_AWAY, "server shutting down")
        await asyncio.gather(*(asyncio.shield(room.close()) for room in rooms))
        try:
            await asyncio.wait_for(self._nobody.wait(), timeout_s)
        except TimeoutError:
            logger.warning("some peers did not close within %.1f s", timeout_s)
        logger.info("closed %d rooms", len(rooms))
