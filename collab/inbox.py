"""A peer's incoming frames on their way to its room: rate-limited, in order, one at a time.

Frames arrive two ways. A task reads the channel's :meth:`~collab.channel.Channel.recv`
(every channel has it); and a channel that can (:class:`~collab.channel.SupportsDirectReceive`,
the websocket transport) hands over each frame as it is parsed, when nothing is
queued ahead of it, so a keystroke costs no queue, no ASGI receive and no task
wake-up (bench/README.md has what that saved). Both ways go through
:meth:`Inbox.deliver`, which is where a refused frame closes its peer, and where
an unexpected error closes only its peer (1011) and is logged with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from collab.channel import SupportsDirectReceive
from collab.errors import ChannelClosed, CloseCode, PeerError, TooManyMessages
from collab.peer import Peer
from collab.ratelimit import TokenBucket

logger = logging.getLogger("collab.inbox")

INTERNAL_ERROR_REASON = "the server failed on a message; reconnect to retry"


class Inbox:
    """Hands a peer's frames to ``handle``, at most ``max_per_s`` a second (bursts: ``burst``)."""

    def __init__(
        self,
        peer: Peer,
        handle: Callable[[Peer, bytes], None],
        max_per_s: float,
        burst: float,
    ) -> None:
        self._peer = peer
        self._handle = handle
        self._bucket = TokenBucket(max_per_s, burst)
        self._max_per_s = max_per_s

    def deliver(self, frame: bytes) -> None:
        """Handle one frame; one that is refused (or fails) closes the peer. Never raises."""
        peer = self._peer
        try:
            if not self._bucket.take():
                raise TooManyMessages(f"more than {self._max_per_s:g} messages a second")
            self._handle(peer, frame)
        except PeerError as error:
            peer.fail(error)
        except Exception:  # a bug: this peer goes, with a reason; the room and others stay
            logger.exception(
                "handling a message from %s failed; closing it with 1011",
                peer.channel.label,
                extra={"peer": peer.channel.label},
            )
            peer.fail(PeerError(INTERNAL_ERROR_REASON, CloseCode.INTERNAL_ERROR))

    def _deliver_while_open(self, frame: bytes) -> None:
        # As the receive loop below: once the peer is closing, nothing more is read.
        if not self._peer.closing:
            self.deliver(frame)

    async def run(self) -> None:
        """Receive until the channel closes or the peer is closing."""
        peer, channel = self._peer, self._peer.channel
        direct = channel if isinstance(channel, SupportsDirectReceive) else None
        if direct is not None and not direct.receive_directly(self._deliver_while_open):
            direct = None
        try:
            while not peer.closing:
                self.deliver(await channel.recv())
        except ChannelClosed:
            return
        except PeerError as error:  # the channel's own refusal (a text frame, say)
            peer.fail(error)
        finally:
            if direct is not None:
                direct.receive_directly(None)
