"""One connection in a room, with its own bounded outgoing queue.

Sends to peers are never awaited by the room: the room drops a message into each
peer's queue and moves on, and each peer's sender task writes its queue to its
channel. So one slow or dead peer delays nobody else; if its queue grows past the
limit it is disconnected and will resync when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from enum import StrEnum

from collab.channel import Channel
from collab.errors import ChannelClosed, CloseCode, PeerError, SlowPeer

_ids = itertools.count(1)
logger = logging.getLogger("collab.peer")


class Role(StrEnum):
    """What a peer may do in a room."""

    EDITOR = "editor"
    VIEWER = "viewer"


class Peer:
    """A channel, the role it joined with, and its outgoing queue."""

    def __init__(self, channel: Channel, role: Role, *, max_queue: int, grant: str = "") -> None:
        self.id = next(_ids)
        self.channel = channel
        self.role = role
        self.grant = grant  # opaque to the room: what let this peer in (the edge's token)
        self.resyncing = False  # asked for a fresh sync reply; acks wait for it
        self.held_markers: list[int] = []
        self._max_queue = max_queue
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._closing = asyncio.Event()
        self.close_sent = False

    def __repr__(self) -> str:
        return f"<Peer {self.id} {self.role} {self.channel.label}>"

    @property
    def closing(self) -> bool:
        return self._close is not None

    def send(self, message: bytes) -> None:
        """Queue a message without waiting; a peer too far behind is closed."""
        if self._close is not None:
            return
        if len(self._queue) >= self._max_queue:
            self.fail(SlowPeer(f"more than {self._max_queue} messages waiting to be sent"))
            return
        self._queue.append(message)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Ask the sender task to close the channel; later sends are dropped."""
        if self._close is None:
            self._close = (code, reason)
            self._queue.clear()
            self._wake.set()
            self._closing.set()

    async def wait_closing(self) -> None:
        """Return once someone asked for this peer to be closed."""
        await self._closing.wait()

    async def force_close(self, timeout_s: float) -> None:
        """Close the channel directly, for a peer whose sender is stuck on a dead socket."""
        if self._close is not None and not self.close_sent:
            # A socket that cannot take a close frame is beyond saving; the transport drops it.
            with contextlib.suppress(TimeoutError, ChannelClosed):
                await asyncio.wait_for(self.channel.close(*self._close), timeout_s)

    def fail(self, error: PeerError) -> None:
        """Close the channel with the close code and reason of ``error``, and log why."""
        if self._close is None:
            logger.warning("closing %s with %d: %s", self.channel.label, error.code, error.reason)
        self.close(error.code, error.reason)

    async def run_sender(self) -> None:
        """Write queued messages to the channel until the peer is closed."""
        try:
            while self._close is None:
                await self._wake.wait()
                self._wake.clear()
                while self._queue and self._close is None:
                    await self.channel.send(self._queue.popleft())
            await self.channel.close(*self._close)
            self.close_sent = True
        except ChannelClosed:
            self._close = self._close or (CloseCode.NORMAL, "peer went away")
            self.close_sent = True
