"""Starlette's WebSocket as a collab :class:`~collab.channel.Channel`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from collab.errors import ChannelClosed, CloseCode, UnsupportedData
from web.transport import DIRECT_RECEIVE, DIRECT_SEND


class WebSocketChannel:
    """Adapts one accepted websocket.

    The room sends from a single task per peer, so sends need no lock here; a
    failed send or receive means the peer is gone and becomes ChannelClosed.
    """

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        client = websocket.client
        self._label = f"{client.host}:{client.port}" if client else "unknown"
        self._ended_with: int | None = None
        extensions = websocket.scope.get("extensions", {})
        direct = extensions.get(DIRECT_SEND)
        self._send_now: Callable[[bytes], bool] | None = direct["send"] if direct else None
        receive = extensions.get(DIRECT_RECEIVE)
        self._set_receiver: Callable[..., None] | None = receive["set"] if receive else None

    @property
    def close_code(self) -> int:
        """The code this server closed the connection with; 1000 if the peer left first."""
        return CloseCode.NORMAL if self._ended_with is None else self._ended_with

    def _ended(self, code: int) -> None:
        if self._ended_with is None:
            self._ended_with = code

    @property
    def label(self) -> str:
        return self._label

    async def recv(self) -> bytes:
        try:
            message = await self._ws.receive()
        except (RuntimeError, OSError) as error:
            self._ended(CloseCode.NORMAL)
            raise ChannelClosed(self._label) from error
        if message["type"] == "websocket.disconnect":
            self._ended(CloseCode.NORMAL)
            raise ChannelClosed(self._label)
        data = message.get("bytes")
        if data is None:
            raise UnsupportedData("text frames are not part of the y-websocket protocol")
        return bytes(data)

    def receive_directly(self, receiver: Callable[[bytes], None] | None) -> bool:
        """Have the transport hand binary messages to ``receiver`` (see SupportsDirectReceive)."""
        if self._set_receiver is None:
            return False
        self._set_receiver(receiver)
        return True

    async def send(self, message: bytes) -> None:
        try:
            await self._ws.send_bytes(message)
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            self._ended(CloseCode.NORMAL)
            raise ChannelClosed(self._label) from error

    def send_now(self, message: bytes) -> bool:
        """Write ``message`` at once below the ASGI layer, if the transport can; else False."""
        return self._send_now is not None and self._send_now(message)

    async def close(self, code: int, reason: str) -> None:
        if self._ws.application_state is not WebSocketState.CONNECTED:
            return
        self._ended(code)
        with contextlib.suppress(RuntimeError, OSError):  # already gone: closing is idempotent
            await self._ws.close(code, reason[:120])  # a close reason is limited to 123 bytes
