"""A peer's incoming frames on their way to its room: rate-limited, in order, one at a time.

Frames arrive two ways. A task reads the channel's :meth:`~collab.channel.Channel.recv`
(every channel has it); and a channel that can (:class:`~collab.channel.SupportsDirectReceive`,
the websocket transport) hands over each frame as it is parsed, when nothing is
queued ahead of it, so a keystroke costs no queue, no ASGI receive and no task
wake-up (bench/README.md has what that saved). Both ways go through
:meth:`Inbox.deliver`, which is where a refused frame closes its peer, and where
an unexpected error closes only its peer (1011) and is logged with its traceback.

A frame whose handling takes more than one loop turn (a large update, applied a
slice at a time: see :mod:`collab.sliced`) comes back from the handler as a
coroutine. The inbox runs it as a task, stops taking frames straight from the
transport meanwhile, and hands the next frame over only once it is done, so a
peer's frames are still handled one at a time and in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias

from collab.channel import SupportsDirectReceive
from collab.errors import ChannelClosed, CloseCode, PeerError, TooManyMessages
from collab.peer import Peer
from collab.ratelimit import TokenBucket

logger = logging.getLogger("collab.inbox")

INTERNAL_ERROR_REASON = "the server failed on a message; reconnect to retry"

Later: TypeAlias = Coroutine[Any, Any, None]
"""The rest of a frame's handling, when it takes more than one loop turn."""


class Inbox:
    """Hands a peer's frames to ``handle``, at most ``max_per_s`` a second (bursts: ``burst``)."""

    def __init__(
        self,
        peer: Peer,
        handle: Callable[[Peer, bytes], Later | None],
        max_per_s: float,
        burst: float,
    ) -> None:
        self._peer = peer
        self._handle = handle
        self._bucket = TokenBucket(max_per_s, burst)
        self._max_per_s = max_per_s
        self._later: asyncio.Task[None] | None = None  # a frame still being handled
        self._direct: SupportsDirectReceive | None = None

    def deliver(self, frame: bytes) -> None:
        """Handle one frame; one that is refused (or fails) closes the peer. Never raises.

        A frame handled over several loop turns goes on in a task (see above).
        """
        try:
            if not self._bucket.take():
                raise TooManyMessages(f"more than {self._max_per_s:g} messages a second")
            later = self._handle(self._peer, frame)
        except Exception as error:
            self._failed(error)
            return
        if later is not None:
            if self._direct is not None:
                self._direct.receive_directly(None)  # queued meanwhile, in order
            self._later = asyncio.ensure_future(self._finish(later))

    async def _finish(self, later: Later) -> None:
        try:
            await later
        except Exception as error:
            self._failed(error)

    def _failed(self, error: Exception) -> None:
        peer = self._peer
        if isinstance(error, PeerError):
            peer.fail(error)
            return
        # A bug: this peer goes, with a reason; the room and others stay.
        logger.error(
            "handling a message from %s failed; closing it with 1011",
            peer.channel.label,
            exc_info=error,
            extra={"peer": peer.channel.label},
        )
        peer.fail(PeerError(INTERNAL_ERROR_REASON, CloseCode.INTERNAL_ERROR))

    def _deliver_while_open(self, frame: bytes) -> None:
        # As the receive loop below: once the peer is closing, nothing more is read.
        if not self._peer.closing:
            self.deliver(frame)

    async def _settled(self) -> None:
        """Wait for a frame still being handled; then frames may come straight again."""
        if self._later is not None:
            await asyncio.wait((self._later,))
            self._later = None
        direct = self._direct
        if direct is not None and not self._peer.closing:
            direct.receive_directly(self._deliver_while_open)

    async def run(self) -> None:
        """Receive until the channel closes or the peer is closing."""
        peer, channel = self._peer, self._peer.channel
        direct = channel if isinstance(channel, SupportsDirectReceive) else None
        if direct is not None and direct.receive_directly(self._deliver_while_open):
            self._direct = direct
        try:
            while not peer.closing:
                frame = await channel.recv()
                if self._later is not None:  # a frame before it is still being handled
                    await self._settled()
                self.deliver(frame)
                if self._later is not None:
                    await self._settled()
        except ChannelClosed:
            return
        except PeerError as error:  # the channel's own refusal (a text frame, say)
            peer.fail(error)
        finally:
            if self._direct is not None:
                self._direct.receive_directly(None)
            if self._later is not None:
                self._later.cancel()
