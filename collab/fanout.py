"""How a note's room reaches the same note's rooms in other processes: a small interface.

A single process needs none of this: :data:`NO_FANOUT` does nothing. With
several processes (:class:`cluster.redis_fanout.RedisFanout`, made by
:func:`cluster.factory.fanout_for`), the database stays the only truth and the
fan-out is a doorbell: a room tells the others what it committed and at which
log position, and a room that misses a message (or sees positions skip) reads
the log from the database instead. So a lost message costs latency, never data.

Everything here is called on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class RemoteRoom(Protocol):
    """What a fan-out may ask of a room (see :class:`collab.room.Room`)."""

    note: int

    def remote_committed(self, position: int, update: bytes | None) -> None:
        """Another process committed ``update`` at ``position`` (None: read the log)."""
        ...

    def remote_presence(self, origin: str, payload: bytes) -> None:
        """Another process's peers changed their presence (an encoded awareness update)."""
        ...

    def remote_head(self, head: int) -> None:
        """The note's log ends at ``head``: read what the room lacks of it."""
        ...

    def remote_gone(self, origin: str) -> None:
        """Another process stopped: its peers are gone."""
        ...

    def remote_peers(self, origin: str, count: int) -> None:
        """How many peers another process serves in this note now."""
        ...

    def remote_notice(self, position: int, notice: str) -> None:
        """Another process told its peers ``notice`` once its room held the log to ``position``."""
        ...

    def present_local(self) -> bytes | None:
        """This process's peers' presence, encoded, for a process that just opened the note."""
        ...

    def peers_here(self) -> int:
        """How many peers this process serves in the note."""
        ...


@dataclass(frozen=True, slots=True)
class FanoutCounts:
    """What a fan-out has done since it started, as the metrics read it."""

    connected: bool  # it hears the other processes now
    published: int  # messages sent to the other processes
    received: int  # messages heard from them
    dropped: int  # messages not sent (the other side was away): the head check repairs them
    outages: int  # times it lost the other processes


class Fanout(Protocol):
    """Carries a note's committed edits and presence between processes.

    Rooms and the manager call the first six methods; the edge reads
    :attr:`clustered` and :meth:`counts`, and hears link changes through
    :meth:`hear_access`.
    """

    @property
    def clustered(self) -> bool:
        """Whether other processes may serve, and write, the same notes."""
        ...

    def watch(self, room: RemoteRoom) -> None:
        """A room of this note opened here: hear the others, and let them hear it."""
        ...

    def unwatch(self, room: RemoteRoom) -> None:
        """The room closed here."""
        ...

    def committed(self, note: int, position: int, update: bytes) -> None:
        """This process committed ``update`` at ``position`` (and broadcast it here)."""
        ...

    def presence(self, note: int, payload: bytes) -> None:
        """This process's peers' presence changed (an encoded awareness update)."""
        ...

    def peers(self, note: int, count: int) -> None:
        """This process now serves ``count`` peers of the note."""
        ...

    def access_changed(self, note: int) -> None:
        """This process replaced a link of the note, or deleted it: the others check theirs."""
        ...

    def notice(self, note: int, position: int, notice: str) -> None:
        """This process told its peers ``notice`` (JSON text), its room holding the log up to
        ``position``: the others tell theirs once they hold as much. Best effort."""
        ...

    def hear_access(self, changed: Callable[[int], None]) -> None:
        """Call ``changed(note)`` when another process replaced a link of the note or deleted it."""
        ...

    def counts(self) -> FanoutCounts:
        """What it has done since it started, for the metrics."""
        ...


class NoFanout:
    """One process: nothing to tell anyone, nothing to hear."""

    clustered = False

    def watch(self, room: RemoteRoom) -> None:
        pass

    def unwatch(self, room: RemoteRoom) -> None:
        pass

    def committed(self, note: int, position: int, update: bytes) -> None:
        pass

    def presence(self, note: int, payload: bytes) -> None:
        pass

    def peers(self, note: int, count: int) -> None:
        pass

    def access_changed(self, note: int) -> None:
        pass

    def notice(self, note: int, position: int, notice: str) -> None:
        pass

    def hear_access(self, changed: Callable[[int], None]) -> None:
        pass  # no other process changes links

    def counts(self) -> FanoutCounts:
        return FanoutCounts(connected=False, published=0, received=0, dropped=0, outages=0)


NO_FANOUT = NoFanout()
