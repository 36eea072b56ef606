"""Keeping a room level with its note's log when other processes write to it too.

The log's positions are dense and in commit order, so "what this room's document
holds" is a number and a few exceptions: every position up to ``known``, and
the positions in ``ahead`` (committed here, or applied out of order). A room
applies another process's committed update at once when it is the next
position; anything else (a gap, a doorbell without the update, an update that
depends on one it lacks) makes it read the log after ``known`` from the
database, once, however many messages asked for it. Applying a logged update
twice is harmless: Yjs skips what a document has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Coroutine

from collab import protocol
from collab.document import merge
from collab.errors import PeerError
from collab.events import NO_EVENTS, RoomEvents
from collab.peer import Peer
from collab.persistence import DocumentStore
from collab.replica import Replica
from collab.yencoding import InvalidUpdate, StaleUpdate, check_update

logger = logging.getLogger("collab.logsync")


class LogSync:
    """A room's position in its note's log, and the catch-up reads that move it."""

    def __init__(
        self,
        note: int,
        store: DocumentStore,
        replica: Replica,
        peers: Collection[Peer],
        head: int,
        spawn: Callable[[str], None],
        events: RoomEvents = NO_EVENTS,
    ) -> None:
        """Sync ``replica`` (holding the log up to ``head``) and tell ``peers`` what it gets.

        ``spawn(name)`` runs :meth:`catch_up` as a task the room owns; ``events``
        hears of each read.
        """
        self.note = note
        self.known = head  # every position up to here is in the document
        self.ahead: set[int] = set()  # ...and these, beyond a gap
        self.catch_ups = 0
        self._store = store
        self._replica = replica
        self._peers = peers
        self._spawn = spawn
        self._events = events
        self._reading = False
        self._again = False
        self._stored_limits = replica.stored_limits

    def has(self, position: int) -> bool:
        return position <= self.known or position in self.ahead

    def local(self, positions: list[int]) -> None:
        """This process committed these positions: its document has them already."""
        for position in positions:
            self._add(position)

    def remote(self, position: int, update: bytes | None) -> None:
        """Another process committed ``update`` at ``position``; None: only its position."""
        if self.has(position):
            return
        if update is not None and position == self.known + 1 and self._apply([(position, update)]):
            return
        self.request_catch_up()

    def behind(self, head: int) -> bool:
        """Whether the log's head is past what the document holds."""
        return head > self.known

    def request_catch_up(self) -> None:
        """Read the log after ``known`` soon; one read at a time, one more if asked meanwhile."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._spawn(f"catch up note {self.note}")

    async def catch_up(self) -> None:
        """Read and apply the log after what the document holds, until it holds the head."""
        try:
            while True:
                self._again = False
                self.catch_ups += 1
                self._events.log_read()
                rows = await self._store.read_log(self.note, self.known)
                self._apply(rows)
                if not self._again:
                    return
        finally:
            self._reading = False

    async def catch_up_or_wait(self) -> None:
        """:meth:`catch_up`; if the database is away, log it: the next head check tries again."""
        try:
            await self.catch_up()
        except Exception:
            logger.warning("catching up note=%s from the log failed", self.note, exc_info=True)

    async def settle(self) -> None:
        """Read and apply the log after what the document holds, now."""
        self._apply(await self._store.read_log(self.note, self.known))

    def _apply(self, rows: list[tuple[int, bytes]]) -> bool:
        """Apply committed rows in order; broadcast what was new. False if one could not be."""
        deltas: list[bytes] = []
        applied = True
        for position, update in rows:
            if self.has(position):
                continue
            try:
                change = self._replica.apply_committed(
                    update, check_update(update, self._stored_limits)
                )
            except (StaleUpdate, InvalidUpdate, PeerError) as error:
                # It depends on a position not yet read: the catch-up read brings it.
                logger.debug("note=%s: logged update %d waits: %s", self.note, position, error)
                applied = False
                break
            self._add(position)
            if change is not None:
                deltas.append(change.delta)
        if deltas:
            frame = protocol.encode_sync_update(merge(deltas))
            for peer in self._peers:
                peer.send(frame)
        return applied

    def _add(self, position: int) -> None:
        self.ahead.add(position)
        while self.known + 1 in self.ahead:
            self.known += 1
            self.ahead.discard(self.known)


def spawner(
    owner: set[asyncio.Task[None]], work: Callable[[], Coroutine[object, object, None]]
) -> Callable[[str], None]:
    """A ``spawn`` for :class:`LogSync`: runs ``work()`` as a task kept in ``owner``."""

    def spawn(name: str) -> None:
        task = asyncio.get_running_loop().create_task(work(), name=name)
        owner.add(task)
        task.add_done_callback(owner.discard)

    return spawn
