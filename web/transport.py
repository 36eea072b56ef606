"""The websocket transport under Starlette: uvicorn's sans-I/O websockets protocol, plus
what a server facing the open internet needs that it lacks.

A peer that stops reading fills the kernel's buffers and then uvicorn's; after
that, no frame reaches it, not even a close frame, and closing the transport
only waits for a flush that never comes. So once the app is done with a
connection, the peer has :data:`CLOSE_GRACE_S` to finish the close handshake;
a connection still open then is aborted, its socket and buffers freed at once
instead of when the peer's own keepalive gives up (20 s for the Python client,
never for some).

It also lets the room write a binary message straight to the socket
(:data:`DIRECT_SEND`), and take one straight from the parser
(:data:`DIRECT_RECEIVE`), skipping the ASGI layers, when nothing waits ahead.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

logger = logging.getLogger("web.transport")

CLOSE_GRACE_S = 2.0
"""How long a peer has, after the server is done with it, to complete the close."""

DIRECT_SEND = "collab.direct_send"
"""The ASGI scope extension whose ``"send"`` writes a binary message now, or answers False."""

DIRECT_RECEIVE = "collab.direct_receive"
"""The ASGI scope extension whose ``"set"`` takes a receiver of binary messages (or None)."""


def binary_frame(message: bytes) -> bytes:
    """``message`` as one unmasked, final binary websocket frame (RFC 6455, 5.2)."""
    size = len(message)
    if size < 126:
        return bytes((0x82, size)) + message
    if size < 1 << 16:
        return struct.pack("!BBH", 0x82, 126, size) + message
    return struct.pack("!BBQ", 0x82, 127, size) + message


class _FrameCache:
    """The frame of the last message framed: a broadcast frames its message once.

    A room hands the same ``bytes`` object to each of its peers, and a server frame
    is unmasked, so all their frames are the same bytes. Held by identity (the
    cache keeps the message alive, so its id cannot be reused meanwhile).
    """

    def __init__(self) -> None:
        self._message = b""
        self._frame = binary_frame(b"")

    def frame(self, message: bytes) -> bytes:
        if message is not self._message:
            self._message, self._frame = message, binary_frame(message)
        return self._frame


_frames = _FrameCache()


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol that drops peers which cannot be written to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lost = False
        self._receiver: Callable[[bytes], None] | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.handshake_initiated and not self.close_sent:  # the app's task has not run yet
            self.scope["extensions"][DIRECT_SEND] = {"send": self.send_now}
            self.scope["extensions"][DIRECT_RECEIVE] = {"set": self.set_receiver}

    def set_receiver(self, receiver: Callable[[bytes], None] | None) -> None:
        """Hand binary messages to ``receiver`` as they are parsed (None: queue them again).

        The ASGI path queues each message, pauses reading and wakes the app's task,
        which takes it through Starlette's ``receive``. A receiver gets a message
        only when the queue is empty, so whatever was queued (a text message, the
        messages that came before the receiver was set) is read first, in order.
        """
        self._receiver = receiver

    def send_receive_event_to_app(self) -> None:
        receiver = self._receiver
        if (
            receiver is None
            or self.curr_msg_data_type != "bytes"
            or self.close_sent  # the ASGI path drops it: the app is past its close
            or not self.queue.empty()
        ):
            super().send_receive_event_to_app()
            return
        frames, self.frames = self.frames, []
        receiver(frames[0] if len(frames) == 1 else b"".join(frames))

    def send_now(self, message: bytes) -> bool:
        """Write ``message`` as a binary frame at once, if that is safe now; else False.

        The ASGI path (``websocket.send_bytes`` through Starlette and uvicorn)
        costs Python work per message above the ``write`` itself, and a task
        wake-up per peer; the frames of one broadcast are byte-identical. Writing
        here took fan-out 1x50's server CPU per 1,000 deliveries from 85 to 56 ms
        and throughput's (2 writers) per 1,000 edits from 65 to 60 (bench/,
        ``--baseline``, medians of 3, 2026-11-27). Safe means:
        the connection is open and not closing, no compression extension was
        agreed (its frames depend on each connection's history), and the socket
        is not paused (a peer that stopped reading goes through the queue, whose
        limit closes it). The caller keeps order: it uses this only when nothing
        of that peer waits in its queue.
        """
        if (
            self.conn.state is not State.OPEN
            or self.conn.extensions
            or self.close_sent
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(_frames.frame(message))
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None:
            self._reject_handshake()

    def _reject_handshake(self) -> None:
        """Send the refusal websockets wrote for a request it could not parse, and close.

        uvicorn leaves that answer (414 for a request line over 8 KB, 431 for too many
        or too long headers) unsent and the socket open; the client then waited for
        ever.
        """
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a peer"
        error = self.conn.handshake_exc
        why = f"{type(error).__name__}: {error}"
        logger.warning(
            "refused %s's websocket handshake: %s",
            client,
            why,
            extra={"peer": client, "reason": why},
        )
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.handshake_initiated = self.handshake_complete = self.close_sent = True
        self.transport.close()

    async def run_asgi(self) -> None:
        await super().run_asgi()
        if not self._lost:
            self.loop.call_later(CLOSE_GRACE_S, self._drop_if_open)

    def _drop_if_open(self) -> None:
        if self._lost:
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a peer"
        logger.warning("dropped %s: it did not complete the close (it stopped reading)", client)
        self.transport.abort()
