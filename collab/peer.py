"""One connection in a room, with its own bounded outgoing queue and an explicit state.

Sends to peers are never awaited by the room: the room drops a message into each
peer's queue and moves on, and each peer's sender task writes its queue to its
channel. So one slow or dead peer delays nobody else; if its queue grows past the
limit it is disconnected and will resync when it reconnects.

A peer moves through :class:`PeerState` one checked step at a time (the way
Starlette's ``WebSocketState`` does), so "may I still send to it?" and "was the
close frame delivered?" are one question each, not a combination of flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from enum import Enum, StrEnum

from collab.channel import Channel, SupportsSendNow
from collab.errors import ChannelClosed, CloseCode, PeerError, SlowPeer
from collab.persistence import ANONYMOUS
from collab.ratelimit import TokenBucket

_ids = itertools.count(1)
logger = logging.getLogger("collab.peer")


class Role(StrEnum):
    """What a peer may do in a room."""

    EDITOR = "editor"
    VIEWER = "viewer"
    COMMENTER = "commenter"
    """Reads and comments (a note's comment link); its edits are refused as a viewer's."""

    @property
    def may_comment(self) -> bool:
        """Whether this role comments (and is handed the comment link): editors, commenters."""
        return self in (Role.EDITOR, Role.COMMENTER)


class PeerState(Enum):
    """Where a peer's connection is in its life."""

    OPEN = "open"
    """Syncing normally."""
    RESYNCING = "resyncing"
    """Asked for a fresh sync reply (its last one was stale); its save acks wait for it."""
    CLOSING = "closing"
    """A close was asked for: nothing more is queued, the sender delivers the close frame."""
    CLOSED = "closed"
    """The close frame went out, or the channel is gone."""

    # Members are singletons: hash them by identity, in C. Enum's own __hash__ is Python
    # code, and whether a peer is live is asked per frame received and per frame sent.
    __hash__ = object.__hash__


_MOVES: dict[PeerState, frozenset[PeerState]] = {
    PeerState.OPEN: frozenset({PeerState.RESYNCING, PeerState.CLOSING, PeerState.CLOSED}),
    PeerState.RESYNCING: frozenset({PeerState.OPEN, PeerState.CLOSING, PeerState.CLOSED}),
    PeerState.CLOSING: frozenset({PeerState.CLOSED}),
    PeerState.CLOSED: frozenset(),
}
_LIVE = frozenset({PeerState.OPEN, PeerState.RESYNCING})


class Peer:
    """A channel, the role it joined with, its outgoing queue and its state."""

    def __init__(
        self, channel: Channel, role: Role, *, max_queue: int, admitted_by: str = ""
    ) -> None:
        self.id = next(_ids)
        self.channel = channel
        self.role = role
        self.admitted_by = admitted_by  # opaque to the room: what let this peer in
        self.author = ANONYMOUS  # the name in its presence: what the history says it wrote
        self.close_frame: tuple[int, str] | None = None  # the code and reason it is closed with
        self.notices = False  # it asked for notices (protocol message 101): stock clients never do
        self._state = PeerState.OPEN
        self._held_markers: list[int] = []  # save markers waiting for a fresh sync reply
        self._max_queue = max_queue
        self._queue: deque[bytes] = deque()
        self._sending = False  # the sender task is inside channel.send
        # A channel may offer to write a message at once (SupportsSendNow).
        self._send_now = channel.send_now if isinstance(channel, SupportsSendNow) else None
        self._wake = asyncio.Event()
        self._ended = asyncio.Event()  # set on leaving OPEN/RESYNCING
        self.apply_budget = TokenBucket(0, 1)  # seconds its edits may cost; the room sets it

    def __repr__(self) -> str:
        return f"<Peer {self.id} {self.role} {self._state.value} {self.channel.label}>"

    @property
    def state(self) -> PeerState:
        return self._state

    @property
    def closing(self) -> bool:
        """True once a close was asked for or the channel went away."""
        return self._state not in _LIVE

    def _move(self, to: PeerState) -> None:
        if to not in _MOVES[self._state]:
            raise RuntimeError(f"{self!r} cannot go from {self._state.value} to {to.value}")
        self._state = to
        if to not in _LIVE:
            self._ended.set()

    # -- sending -----------------------------------------------------------------------

    def send(self, message: bytes) -> None:
        """Send or queue a message without waiting; a peer too far behind is closed."""
        if self._state not in _LIVE:
            return
        # Nothing ahead of it: write now if the channel can, with no task wake-up
        # and none of the ASGI send path. Server CPU per 1,000 deliveries went from
        # 85 to 56 ms in fan-out 1x50 and from 115 to 92 ms in 20x10 (bench/,
        # --baseline, medians of 3, 2026-11-27). Never ahead of a queued message:
        # not while the queue holds one, nor while the sender task is writing one.
        if not self._queue and not self._sending and self._send_now and self._send_now(message):
            return
        if len(self._queue) >= self._max_queue:
            self.fail(SlowPeer(f"more than {self._max_queue} messages waiting to be sent"))
            return
        self._queue.append(message)
        self._wake.set()

    async def run_sender(self) -> None:
        """Write queued messages to the channel, then the close frame once one is asked for."""
        try:
            while self._state in _LIVE:
                await self._wake.wait()
                self._wake.clear()
                while self._queue and self._state in _LIVE:
                    self._sending = True
                    try:
                        await self.channel.send(self._queue.popleft())
                    finally:
                        self._sending = False
            if self._state is PeerState.CLOSING:
                assert self.close_frame is not None
                await self.channel.close(*self.close_frame)
                self._move(PeerState.CLOSED)
        except ChannelClosed:
            self._gone()

    # -- resyncing -----------------------------------------------------------------------

    def resync(self) -> None:
        """Note that a fresh sync reply was asked for; acks wait until it is in."""
        if self._state is PeerState.OPEN:
            self._move(PeerState.RESYNCING)

    def hold_marker(self, marker: int) -> bool:
        """Keep a save marker until the fresh reply is in; False if none is awaited."""
        if self._state is not PeerState.RESYNCING:
            return False
        self._held_markers.append(marker)
        return True

    def resynced(self) -> list[int]:
        """The fresh reply is in: back to OPEN; returns the markers held meanwhile."""
        if self._state is not PeerState.RESYNCING:
            return []
        self._move(PeerState.OPEN)
        held, self._held_markers = self._held_markers, []
        return held

    # -- closing -----------------------------------------------------------------------

    def close(self, code: int, reason: str) -> None:
        """Ask the sender task to close the channel; later sends are dropped. Idempotent."""
        if self._state in _LIVE:
            self.close_frame = (code, reason)
            self._queue.clear()
            self._move(PeerState.CLOSING)
            self._wake.set()

    def fail(self, error: PeerError) -> None:
        """Close the channel with the close code and reason of ``error``, and log why."""
        if self._state in _LIVE:
            logger.warning(
                "closing %s with %d: %s",
                self.channel.label,
                error.code,
                error.reason,
                extra={"peer": self.channel.label, "code": int(error.code), "reason": error.reason},
            )
        self.close(error.code, error.reason)

    async def wait_closing(self) -> None:
        """Return once a close was asked for or the channel went away."""
        await self._ended.wait()

    async def force_close(self, timeout_s: float) -> None:
        """Close the channel directly, for a peer whose sender is stuck on a dead socket."""
        if self._state is PeerState.CLOSING:
            assert self.close_frame is not None
            # A socket that cannot take a close frame is beyond saving; the transport drops it.
            with contextlib.suppress(TimeoutError, ChannelClosed):
                await asyncio.wait_for(self.channel.close(*self.close_frame), timeout_s)
            self._move(PeerState.CLOSED)

    def _gone(self) -> None:
        if self.close_frame is None:
            self.close_frame = (CloseCode.NORMAL, "peer went away")
        if self._state is not PeerState.CLOSED:
            self._move(PeerState.CLOSED)
