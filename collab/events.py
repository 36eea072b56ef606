"""What rooms report as they work, for whoever watches them (the web edge's metrics).

collab knows no metrics library. The manager hands every room it opens a
:class:`RoomEvents`; the room's write pipeline and the manager report to it.
The default, :data:`NO_EVENTS`, does nothing.

Methods are called on the event loop, some on the keystroke path (once per
update appended, not once per frame): an implementation must be cheap and must
not raise.
"""

from __future__ import annotations

from typing import Protocol


class RoomEvents(Protocol):
    """Receives what rooms do, for metrics.

    Times are in seconds from an update's *arrival*: when the room began to
    apply the first edit that the update holds (an appended update is what one
    room applied in one event-loop turn).
    """

    def update_committed(self, waited_s: float) -> None:
        """An appended update is committed, ``waited_s`` after it arrived."""
        ...

    def update_broadcast(self, waited_s: float) -> None:
        """A committed update was queued to the room's peers, ``waited_s`` after it arrived."""
        ...

    def storage_failed(self) -> None:
        """Loading a note, appending an update or writing a checkpoint failed."""
        ...

    def log_read(self) -> None:
        """A room read its note's log for what another process committed (a catch-up)."""
        ...


class NoEvents:
    """A :class:`RoomEvents` that ignores everything."""

    def update_committed(self, waited_s: float) -> None:
        pass

    def update_broadcast(self, waited_s: float) -> None:
        pass

    def storage_failed(self) -> None:
        pass

    def log_read(self) -> None:
        pass


NO_EVENTS: RoomEvents = NoEvents()
