"""The websocket transport under Starlette: uvicorn's sans-I/O websockets protocol, plus
what a server facing the open internet needs that it lacks.

A peer that stops reading fills the kernel's buffers and then uvicorn's; after
that, no frame reaches it, not even a close frame, and closing the transport
only waits for a flush that never comes. So once the app is done with a
connection, the peer has :data:`CLOSE_GRACE_S` to finish the close handshake;
a connection still open then is aborted, its socket and buffers freed at once
instead of when the peer's own keepalive gives up (20 s for the Python client,
never for some).
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

logger = logging.getLogger("web.transport")

CLOSE_GRACE_S = 2.0
"""How long a peer has, after the server is done with it, to complete the close."""


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol that drops peers which cannot be written to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lost = False

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
