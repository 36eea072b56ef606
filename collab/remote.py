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
from typing import NamedTuple, Protocol

from collab.fanout import Fanout
from collab.logsync import LogSync
from collab.peer import Peer
from collab.presence import PresenceRelay

MAX_HELD_NOTICES = 16
"""Notices from other processes held at once, waiting for the log (past that: the oldest go)."""


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

    def notified(self, notice: str) -> None:
        """The peers here were told ``notice`` (JSON text): tell the other processes'."""
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

    def notified(self, notice: str) -> None:
        pass  # every peer is here, and was told


class _Held(NamedTuple):
    position: int  # tell it once the room's document holds the log up to here
    notice: str


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
        tell: Callable[[str], None] = lambda notice: None,
    ) -> None:
        """Link the room's ``peers``, ``log`` and ``presence`` to ``fanout``.

        ``broken()`` says whether the room refuses everything (a write failed);
        ``tell(notice)`` gives a notice to the peers here that asked for them.
        """
        self.note = note
        self.fanout = fanout
        self._peers = peers
        self._log = log
        self._presence = presence
        self._broken = broken
        self._counts: dict[str, int] = {}  # other processes' peers in the note
        self._tell = tell
        self._held: list[_Held] = []  # other processes' notices, waiting for the log

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
        self.release_notices()

    def notified(self, notice: str) -> None:
        """The peers here were told ``notice``: the other processes' peers are told too.

        Best effort, as presence: a notice Redis loses is one a page does not
        show; the edit it tells of travels, as every edit does, through the log.
        It goes with the highest log position this room holds, and each other
        process tells it once its room holds the log up to there: after the edit.
        """
        log = self._log
        self.fanout.notice(self.note, max(log.ahead, default=log.known), notice)

    def present_local(self) -> bytes | None:
        """This process's peers' presence, encoded, for a process that just opened the note."""
        return self._presence.local_payload()

    # -- what the others tell this process ---------------------------------------------

    def remote_committed(self, position: int, update: bytes | None) -> None:
        """Another process committed ``update`` at ``position`` (None: read the log)."""
        if not self._broken():
            self._log.remote(position, update)
            self.release_notices()

    def remote_head(self, head: int) -> None:
        """The note's log ends at ``head`` (the periodic check): catch up if behind."""
        if not self._broken() and self._log.behind(head):
            self._log.request_catch_up()

    def remote_notice(self, position: int, notice: str) -> None:
        """Another process told its peers ``notice``: tell those here once the room holds
        the log up to ``position`` (at once if it does)."""
        if self._broken():
            return
        self._held.append(_Held(position, notice))
        del self._held[:-MAX_HELD_NOTICES]
        if self._log.behind(position):
            self._log.request_catch_up()
        self.release_notices()

    def release_notices(self) -> None:
        """Tell the held notices whose position the room's document now holds, in order."""
        if not self._held:
            return
        known = self._log.known
        ready = [held for held in self._held if held.position <= known]
        self._held = [held for held in self._held if held.position > known]
        for held in ready:
            self._tell(held.notice)

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
