"""One websocket on a real uvicorn protocol of ours (web.transport) over a socket pair.

The server end is :class:`~web.transport.WebSocketProtocol` with a tiny ASGI app
that accepts and hands out its ``send`` and ``receive``; the client end is a
websockets sans-I/O client the test drives byte by byte. For the transport's
direct send and direct receive, which must keep the ASGI path's order and rules.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame
from websockets.protocol import State
from websockets.uri import parse_uri

from web.transport import DIRECT_RECEIVE, DIRECT_SEND, WebSocketProtocol

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class Connection:
    """A server protocol, the app's ``send``, and a websockets client on the other end."""

    server: WebSocketProtocol
    app_send: Send
    app_receive: Receive
    client: ClientProtocol
    sock: socket.socket

    def send_now(self, message: bytes) -> bool:
        extension: Any = self.server.scope["extensions"][DIRECT_SEND]
        return bool(extension["send"](message))

    def set_receiver(self, receiver: Callable[[bytes], None] | None) -> None:
        extension: Any = self.server.scope["extensions"][DIRECT_RECEIVE]
        extension["set"](receiver)

    def client_sends(self, *frames: Frame) -> None:
        """Send frames from the client (the protocol masks them)."""
        for frame in frames:
            self.client.send_frame(frame)
        self.sock.sendall(b"".join(self.client.data_to_send()))

    async def handshake(self) -> None:
        """Read the server's 101 answer."""
        while self.client.state is not State.OPEN:
            await self._receive()
        assert not self.client.events_received()[1:], "nothing but the handshake yet"

    async def frames(self, count: int) -> list[Frame]:
        """Read until the client has decoded ``count`` data or close frames."""
        frames: list[Frame] = []
        while len(frames) < count:
            await self._receive()
            frames += [e for e in self.client.events_received() if isinstance(e, Frame)]
        return frames

    async def closed_by_server(self, timeout_s: float = 5.0) -> None:
        """Wait until the server ends the TCP connection (reads what it sent before)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            while data := await loop.sock_recv(self.sock, 1 << 20):
                self.client.receive_data(data)

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 20), 5)
        assert data, "the server closed the socket"
        self.client.receive_data(data)


@asynccontextmanager
async def connection(*, deflate: bool = False) -> AsyncIterator[Connection]:
    """Accept one websocket with a tiny ASGI app that hands out its ``send``."""
    accepted: asyncio.Future[tuple[Send, Receive]] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set_result((send, receive))
        await done.wait()

    config = Config(app=app, ws_per_message_deflate=deflate, lifespan="off")
    config.load()
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    server = WebSocketProtocol(config=config, server_state=ServerState(), app_state={})
    await asyncio.get_running_loop().connect_accepted_socket(lambda: server, ours)
    extensions = [ClientPerMessageDeflateFactory()] if deflate else None
    client = ClientProtocol(parse_uri("ws://127.0.0.1/ws"), extensions=extensions, max_size=None)
    client.send_request(client.connect())
    theirs.sendall(b"".join(client.data_to_send()))
    try:
        app_send, app_receive = await asyncio.wait_for(accepted, 5)
        conn = Connection(server, app_send, app_receive, client, theirs)
        await conn.handshake()
        yield conn
    finally:
        done.set()
        server.transport.abort()
        theirs.close()
