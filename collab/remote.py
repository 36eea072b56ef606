"""A room's side of the fan-out: what it tells the note's rooms in other processes,
and what they tell it.

Each :class:`~collab.room.Room` owns one :class:`Side`. When other processes
serve the note too (a clustered :class:`~collab.fanout.Fanout`) it is a
:class:`RemoteSide`, which the fan-out watches while the room is open, and which
keeps the room level with the log through a :class:`~collab.logsync.LogSync`.
With one process it is a :class:`LocalSide`, a null side: every peer is here,
and the log's positions are the room's own pipeline's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

from collab.fanout import Fanout
from collab.logsync import LogSync
from collab.peer import Peer
from collab.presence import PresenceRelay


class Side(Protocol):
    """What a room, and those who act on it, ask of its side toward other processes."""

    def peer_count(self) -> int:
        """Peers in the note's room, in every process serving it."""
        ...

    def peers_changed(self) -> None:
        """A peer joined or left here."""
        ...

    def known(self) -> int:
        """The last log position the room's document is known to hold."""
        ...

    async def settle(self) -> None:
        """Bring the document level with the log now (before an edit made apart from it)."""
        ...

    def watch(self) -> None:
        """The room opened: hear the other processes."""
        ...

    def unwatch(self) -> None:
        """The room closed, or broke."""
        ...


class LocalSide:
    """One process's :class:`Side`: nobody to tell, nothing to hear, no log to follow."""

    def __init__(self, peers: Collection[Peer], head: Callable[[], int]) -> None:
        """``head()`` is the position of the room's last committed append."""
        self._peers = peers
        self._head = head

    def peer_count(self) -> int:
        return len(self._peers)

    def peers_changed(self) -> None:
        pass

    def known(self) -> int:
        return self._head()  # only this room writes the note's log

    async def settle(self) -> None:
        pass  # the document holds the whole log already

    def watch(self) -> None:
        pass

    def unwatch(self) -> None:
        pass


class RemoteSide:
    """A :class:`collab.fanout.RemoteRoom`: one note's room, as other processes reach it."""

    def __init__(
        self,
        note: int,
        peers: Collection[Peer],
        log: LogSync,
        presence: PresenceRelay,
        fanout: Fanout,
        broken: Callable[[], bool],
    ) -> None:
        """Link the room's ``peers``, ``log`` and ``presence`` to ``fanout``.

        ``broken()`` says whether the room refuses everything (a write failed).
        """
        self.note = note
        self.fanout = fanout
        self._peers = peers
        self._log = log
        self._presence = presence
        self._broken = broken
        self._counts: dict[str, int] = {}  # other processes' peers in the note

    def peer_count(self) -> int:
        """Peers in the note's room, in every process serving it."""
        return len(self._peers) + sum(self._counts.values())

    def peers_here(self) -> int:
        """Peers this process serves in the note."""
        return len(self._peers)

    def known(self) -> int:
        """The last log position the room's document is known to hold."""
        return self._log.known

    async def settle(self) -> None:
        """Read and apply the log after what the document holds, now."""
        await self._log.settle()

    def watch(self) -> None:
        """The room opened: hear the other processes, and let them hear it."""
        self.fanout.watch(self)

    def unwatch(self) -> None:
        """The room closed, or broke."""
        self.fanout.unwatch(self)

    # -- what this process tells the others --------------------------------------------

    def peers_changed(self) -> None:
        """A peer joined or left here."""
        self.fanout.peers(self.note, len(self._peers))

    def committed(self, rows: list[tuple[int, bytes]]) -> None:
        """This process committed (and broadcast here) these rows: tell the others."""
        self._log.local([position for position, _update in rows])
        for position, update in rows:
            self.fanout.committed(self.note, position, update)

    def present_local(self) -> bytes | None:
        """This process's peers' presence, encoded, for a process that just opened the note."""
        return self._presence.local_payload()

    # -- what the others tell this process ---------------------------------------------

    def remote_committed(self, position: int, update: bytes | None) -> None:
        """Another process committed ``update`` at ``position`` (None: read the log)."""
        if not self._broken():
            self._log.remote(position, update)

    def remote_head(self, head: int) -> None:
        """The note's log ends at ``head`` (the periodic check): catch up if behind."""
        if not self._broken() and self._log.behind(head):
            self._log.request_catch_up()

    def remote_presence(self, origin: str, payload: bytes) -> None:
        """Another process's peers changed their presence."""
        self._presence.remote(origin, payload)

    def remote_gone(self, origin: str) -> None:
        """Another process stopped: its peers and their presence are gone."""
        self._counts.pop(origin, None)
        self._presence.gone(origin)

    def remote_peers(self, origin: str, count: int) -> None:
        """How many peers another process serves in this note now."""
        if count:
            self._counts[origin] = count
        else:
            self._counts.pop(origin, None)
