"""The transport a room talks to, and an in-memory implementation for tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from collab.errors import ChannelClosed, PeerError

_logger = logging.getLogger("collab.manager")  # where refusals were always logged


class Channel(Protocol):
    """One peer's bidirectional message pipe (a websocket, in production).

    Implementations must raise :class:`~collab.errors.ChannelClosed` from
    :meth:`recv` and :meth:`send` once the peer is gone, and may raise a
    :class:`~collab.errors.PeerError` from :meth:`recv` for a frame the
    transport itself refuses (a text frame, say).
    """

    @property
    def label(self) -> str:
        """A short description of the peer for logs, such as its address."""
        ...

    async def recv(self) -> bytes:
        """Wait for the next binary message from the peer."""
        ...

    async def send(self, message: bytes) -> None:
        """Send one binary message to the peer."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with a close code; idempotent."""
        ...


@runtime_checkable
class SupportsSendNow(Protocol):
    """A channel that can also write a message at once, without awaiting.

    :class:`~collab.peer.Peer` uses it for a message with nothing queued ahead of
    it; it must answer False (and write nothing) whenever the message would have
    to wait, so the peer queues it and its sender task delivers it in order.
    """

    def send_now(self, message: bytes) -> bool:
        """Write ``message`` now and return True, or return False and write nothing."""
        ...


@runtime_checkable
class SupportsDirectReceive(Protocol):
    """A channel that can hand over each binary message as it arrives, without ``recv``.

    While a receiver is set, a binary message with nothing queued ahead of it goes
    to the receiver, synchronously, instead of to :meth:`Channel.recv`; anything
    else (text, the end of the connection, messages that were already queued) still
    comes from ``recv``, so the order of messages is kept. The receiver must not raise.
    """

    def receive_directly(self, receiver: Callable[[bytes], None] | None) -> bool:
        """Set the receiver (None: none); False if this channel cannot (nothing changes)."""
        ...


class MemoryChannel:
    """One end of an in-memory channel pair; see :func:`memory_channel_pair`."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.peer: MemoryChannel | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._flowing = asyncio.Event()
        self._flowing.set()

    def stall(self) -> None:
        """Make sends wait, like a peer that stopped reading, until :meth:`resume`."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    @property
    def label(self) -> str:
        return self._label

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    async def recv(self) -> bytes:
        if self.closed and self._inbox.empty():
            raise ChannelClosed(self._label)
        message = await self._inbox.get()
        if message is None:
            raise ChannelClosed(self._label)
        return message

    async def send(self, message: bytes) -> None:
        await self._flowing.wait()
        if self.closed or self.peer is None:
            raise ChannelClosed(self._label)
        self.peer._inbox.put_nowait(message)

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.close_code, self.close_reason = code, reason
        self._inbox.put_nowait(None)
        if self.peer is not None and not self.peer.closed:
            self.peer.close_code, self.peer.close_reason = code, reason
            self.peer._inbox.put_nowait(None)


def memory_channel_pair(label: str = "memory") -> tuple[MemoryChannel, MemoryChannel]:
    """Two connected channels: what one sends, the other receives.

    Closing either end closes both, and both record the close code and reason.
    """
    server, client = MemoryChannel(f"{label}/server"), MemoryChannel(f"{label}/client")
    server.peer, client.peer = client, server
    return server, client


async def refuse(channel: Channel, note: int, error: PeerError) -> None:
    """Close a connection the note's room could not take, saying why in the log too."""
    _logger.warning(
        "refused %s for note=%s: %s",
        channel.label,
        note,
        error.reason,
        extra={
            "note": note,
            "peer": channel.label,
            "code": int(error.code),
            "reason": error.reason,
        },
    )
    await channel.close(error.code, error.reason)
