"""Rooms by note: one room per note, loaded once, closed after a grace period.

The manager keeps one :class:`_Slot` per note that is loaded or being loaded,
and every invariant about a note's room lives in it:

* a slot exists from the moment a connection decides to load the note until
  its room is closed, so slots count against ``max_rooms`` before the load
  starts: the limit is hard even when many new notes open at once;
* the slot's lock is held while the room is loaded and while it is closed, so
  two connections racing to open a note share one load and one room, and a
  peer arriving mid-close waits and then gets a freshly loaded room;
* the slot counts its users; when the last leaves, the room stays open for
  ``grace_s`` (a reload or a flaky network reconnects to the same room), then
  closes once its writes are committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar

import pycrdt

from collab import document
from collab.channel import Channel, refuse
from collab.config import RoomConfig
from collab.errors import CloseCode, PeerError
from collab.events import NO_EVENTS, RoomEvents
from collab.fanout import NO_FANOUT, Fanout
from collab.peer import Role
from collab.persistence import DocumentStore, StoredDocument, VersionMark
from collab.replica import Trackers, track
from collab.room import Room
from collab.sliced import Lane

T = TypeVar("T")

logger = logging.getLogger("collab.manager")

READ_COMMITTED_WAIT_S = 2.0
"""How long a read of an open note waits for the room's pending edits to be committed
(milliseconds, but for a locked disk) before it reads the store's committed text."""


@dataclass(eq=False)
class _Slot:
    """One note's place in the manager: its room once loaded, and who uses it."""

    note: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    room: Room | None = None  # None while loading
    users: int = 0
    close_timer: asyncio.TimerHandle | None = None

    @property
    def idle(self) -> bool:
        """Loaded, nobody in it, waiting out its grace period."""
        return self.room is not None and self.users == 0 and self.close_timer is not None

    def cancel_close(self) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None


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
        events: RoomEvents = NO_EVENTS,
        fanout: Fanout = NO_FANOUT,
    ) -> None:
        """Open rooms on ``store``; ``events`` hears what they do (for metrics);
        ``fanout`` links them to the same notes' rooms in other processes."""
        self.store = store
        self.events = events
        self.fanout = fanout
        self.lane = Lane()  # large updates take turns across all rooms (collab/sliced.py)
        self.config = config or RoomConfig()
        self.grace_s = grace_s
        self.max_rooms = max_rooms
        self._slots: dict[int, _Slot] = {}
        self._reads: dict[int, asyncio.Future[str]] = {}  # reads of notes not open, shared
        self._users = 0  # across every slot
        self._nobody = asyncio.Event()  # set while no connection is served
        self._nobody.set()
        self._tasks: asyncio.TaskGroup | None = None
        self._stopping = False
        self.unsaved: list[int] = []  # notes whose writes shutdown gave up waiting for
        self.on_closed: Callable[[int], None] | None = None  # told each note whose room closed

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
        """The open rooms by note (a copy)."""
        return {note: slot.room for note, slot in self._slots.items() if slot.room is not None}

    @property
    def stopping(self) -> bool:
        """True once shutdown began: new connections are refused."""
        return self._stopping

    async def serve(
        self,
        note: int,
        channel: Channel,
        role: Role = Role.EDITOR,
        admitted_by: str = "",
        still_admitted: Callable[[], bool] | None = None,
    ) -> None:
        """Serve a peer in the note's room, opening the room if needed.

        ``still_admitted`` is asked once the room is ready, just before the peer
        joins it (nothing runs in between): a link revoked while the room loaded
        is refused then (1013, so the client's retry finds out for sure), and one
        revoked later finds the peer in the room, by ``admitted_by``.

        Every connection ends with a close code: a refusal's, the room's, or
        1011 if something unexpected went wrong (logged with its traceback).
        """
        try:
            slot = await self._acquire(note)
        except PeerError as error:
            await refuse(channel, note, error)
            return
        try:
            assert slot.room is not None
            if still_admitted is not None and not still_admitted():
                reason = "the note's links changed while you connected; reconnect"
                await channel.close(CloseCode.TRY_AGAIN_LATER, reason)
                return
            await slot.room.serve(channel, role, admitted_by)
        except Exception:
            logger.exception(
                "serving %s in note=%s failed",
                channel.label,
                note,
                extra={"note": note, "peer": channel.label},
            )
            await channel.close(CloseCode.INTERNAL_ERROR, "internal error; reconnect to retry")
        finally:
            self._release(slot)

    async def in_room(self, note: int, act: Callable[[Room], Awaitable[T]]) -> T:
        """Run ``act`` on the note's room, opened for the while if it is not (a restore, say)."""
        slot = await self._acquire(note)
        try:
            assert slot.room is not None
            return await act(slot.room)
        finally:
            self._release(slot)

    async def mark_version(self, note: int, kind: str, name: str | None) -> VersionMark:
        """Record a version of the note's current state (its open room's edits included)."""
        slot = self._slots.get(note)
        if slot is not None and slot.room is not None:
            return await slot.room.pipeline.mark_version(kind, name)
        return await self.store.mark_version(note, kind, name)

    async def read_text(self, note: int) -> str:
        """The note's committed text: from its open room once every edit it holds is
        committed, else from the store (no room is opened), which holds only that.

        Concurrent reads of a note that is not open share one load: forty people
        opening a shared link after a meeting read it once, not forty times.
        """
        slot = self._slots.get(note)
        if slot is not None and slot.room is not None:
            text = str(slot.room.text)  # served once all it holds is on disk, else the store's
            if await slot.room.pipeline.committed(within_s=READ_COMMITTED_WAIT_S):
                return text
        reading = self._reads.get(note)
        if reading is None:
            reading = self._reads[note] = asyncio.ensure_future(self._read_stored(note))
            reading.add_done_callback(lambda _: self._reads.pop(note, None))
        return await asyncio.shield(reading)

    async def _read_stored(self, note: int) -> str:
        stored = await self.store.load(note)
        return document.text(await asyncio.to_thread(document.build, stored.updates))

    # -- opening -------------------------------------------------------------------------

    async def _acquire(self, note: int) -> _Slot:
        if self._tasks is None:
            raise RuntimeError("RoomManager.serve() needs the manager entered (async with)")
        while True:
            slot = await self._reserve(note)
            slot.users += 1  # counted before any await, so nobody closes it under us
            self._users += 1
            self._nobody.clear()
            slot.cancel_close()
            try:
                async with slot.lock:
                    current = self._slots.get(note) is slot
                    if current and slot.room is None:
                        await self._load(slot)
            except BaseException:
                self._release(slot)
                raise
            if current:
                return slot
            self._release(slot)  # its load failed or it broke while we waited: start over

    async def _reserve(self, note: int) -> _Slot:
        """The note's slot, made if needed, never more than ``max_rooms`` of them."""
        while True:
            if self._stopping:
                raise PeerError("the server is shutting down", CloseCode.GOING_AWAY)
            slot = self._slots.get(note)
            if slot is not None:
                return slot
            if len(self._slots) < self.max_rooms:
                slot = self._slots[note] = _Slot(note)  # no await since the check: a hard limit
                return slot
            if not await self._unload_one_idle():
                raise PeerError(
                    f"the server has its maximum of {self.max_rooms} notes open; try again later",
                    CloseCode.TRY_AGAIN_LATER,
                )

    async def _load(self, slot: _Slot) -> None:
        started = time.perf_counter()
        try:
            stored = await self.store.load(slot.note)
            doc, trackers = await asyncio.to_thread(self._build, stored)
        except BaseException as error:
            self._drop(slot)  # the slot was empty: free it for the next try
            if not isinstance(error, asyncio.CancelledError):
                self.events.storage_failed()
            raise
        slot.room = Room(
            slot.note,
            doc,
            self.store,
            self.config,
            since_checkpoint=stored.log_length,
            head=stored.head,
            trackers=trackers,
            on_broken=self._forget,
            events=self.events,
            fanout=self.fanout,
            lane=self.lane,
        )
        slot.room.remote.watch()
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        logger.info(
            "opened note=%s in %d ms (%d logged updates after its checkpoint)",
            slot.note,
            elapsed_ms,
            stored.log_length,
            extra={"note": slot.note, "ms": elapsed_ms, "updates": stored.log_length},
        )

    def _build(self, stored: StoredDocument) -> tuple[pycrdt.Doc[pycrdt.Text], Trackers]:
        doc = document.build(stored.updates)
        return doc, track(doc, self.config.limits)

    # -- closing -------------------------------------------------------------------------

    def _release(self, slot: _Slot) -> None:
        slot.users -= 1
        self._users -= 1
        if self._users == 0:
            self._nobody.set()
        if self._slots.get(slot.note) is not slot:
            return  # the room broke and was dropped; nothing to close
        if slot.users == 0 and slot.room is not None and not self._stopping:
            loop = asyncio.get_running_loop()
            slot.cancel_close()
            slot.close_timer = loop.call_later(self.grace_s, self._close_later, slot)

    def _close_later(self, slot: _Slot) -> None:
        slot.close_timer = None
        assert self._tasks is not None
        self._tasks.create_task(self._close_if_idle(slot), name=f"close note {slot.note}")

    async def _unload_one_idle(self) -> bool:
        """Close the idle room that has waited longest; False when none is idle."""
        idle = [slot for slot in self._slots.values() if slot.idle]
        if not idle:
            return False
        slot = min(idle, key=lambda s: s.close_timer.when() if s.close_timer else 0.0)
        slot.cancel_close()
        await self._close_if_idle(slot)
        return True

    async def _close_if_idle(self, slot: _Slot) -> None:
        async with slot.lock:
            if slot.users or self._slots.get(slot.note) is not slot or slot.room is None:
                return  # someone came back during the grace period, or it is gone
            # Forget the room only once its writes are committed, so a reload cannot
            # read a store that is missing edits this room accepted.
            await asyncio.shield(slot.room.close())
            if slot.users == 0:
                self._drop(slot)
                logger.info("closed note=%s", slot.note, extra={"note": slot.note})
                if self.on_closed is not None:
                    self.on_closed(slot.note)
            # else: someone arrived while it closed; the room stays, still consistent

    def _forget(self, room: Room) -> None:
        """A room broke: drop it, so that the next connection loads the note afresh."""
        slot = self._slots.get(room.note)
        if slot is not None and slot.room is room:
            self._drop(slot)

    def _drop(self, slot: _Slot) -> None:
        slot.cancel_close()
        if self._slots.get(slot.note) is slot:
            del self._slots[slot.note]
        if slot.room is not None:
            slot.room.remote.unwatch()

    def disconnect(
        self, note: int, code: CloseCode, reason: str, *, admitted_by: str | None = None
    ) -> None:
        """Close the connections to a note's open room (only ``admitted_by``'s, if given)."""
        slot = self._slots.get(note)
        if slot is not None and slot.room is not None:
            slot.room.disconnect_all(code, reason, admitted_by=admitted_by)

    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """Refuse newcomers, disconnect everyone with 1001 and wait for every room's writes.

        Waits up to ``timeout_s`` in all: for the rooms' writes (a locked or full
        disk can hold them for as long as it lasts; what is still unwritten then
        was never acknowledged nor broadcast, so its clients still hold it and
        send it again when they reconnect), then for the peers' connections to
        close, so that they see 1001 rather than whatever the transport does.
        """
        if self._stopping:
            return
        self._stopping = True
        deadline = asyncio.get_running_loop().time() + timeout_s
        rooms = []
        for slot in self._slots.values():
            slot.cancel_close()
            if slot.room is not None:
                slot.room.disconnect_all(CloseCode.GOING_AWAY, "server shutting down")
                rooms.append(slot.room)
        closing = {asyncio.ensure_future(asyncio.shield(room.close())): room for room in rooms}
        if closing:
            _done, pending = await asyncio.wait(closing, timeout=timeout_s)
            if pending:
                notes = self.unsaved = sorted(closing[task].note for task in pending)
                logger.error(
                    "stopping with unsaved edits in notes %s after %.0f s (the disk did not "
                    "answer); their clients were never told they were saved and still hold them",
                    notes[:20],
                    timeout_s,
                    extra={"notes": notes[:20], "unsaved_notes": len(notes)},
                )
        remaining = max(0.1, deadline - asyncio.get_running_loop().time())
        try:
            await asyncio.wait_for(self._nobody.wait(), remaining)
        except TimeoutError:
            logger.warning("some peers did not close within %.1f s", timeout_s)
        logger.info("closed %d rooms", len(rooms), extra={"rooms": len(rooms)})
