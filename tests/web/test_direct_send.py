"""The transport's direct send, on a real uvicorn protocol over a real socket pair.

A direct write skips the ASGI send path, so it must refuse (answer False and
write nothing) whenever that path would have waited or framed differently:
before the handshake, while the socket is paused, once a close is under way,
and when permessage-deflate was agreed.
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
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from web.transport import DIRECT_SEND, WebSocketProtocol, binary_frame

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Connection:
    """A server protocol, the app's ``send``, and a websockets client on the other end."""

    server: WebSocketProtocol
    app_send: Send
    client: ClientProtocol
    sock: socket.socket

    def send_now(self, message: bytes) -> bool:
        send: Callable[[bytes], bool] = self.server.scope["extensions"][DIRECT_SEND]["send"]
        return send(message)

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

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 20), 5)
        assert data, "the server closed the socket"
        self.client.receive_data(data)


@asynccontextmanager
async def connection(*, deflate: bool = False) -> AsyncIterator[Connection]:
    """Accept one websocket with a tiny ASGI app that hands out its ``send``."""
    accepted: asyncio.Future[Send] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set_result(send)
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
        app_send = await asyncio.wait_for(accepted, 5)
        conn = Connection(server, app_send, client, theirs)
        await conn.handshake()
        yield conn
    finally:
        done.set()
        server.transport.abort()
        theirs.close()


async def test_a_direct_send_is_one_binary_frame_the_client_reads_in_order() -> None:
    async with connection() as conn:
        await conn.app_send({"type": "websocket.send", "bytes": b"through ASGI"})
        assert conn.send_now(b"direct")
        assert conn.send_now(b"x" * 70_000)  # the 64-bit length form
        frames = await conn.frames(3)
    assert [(f.opcode, bytes(f.data)) for f in frames] == [
        (Opcode.BINARY, b"through ASGI"),
        (Opcode.BINARY, b"direct"),
        (Opcode.BINARY, b"x" * 70_000),
    ]


def test_binary_frame_uses_each_length_form_of_rfc_6455() -> None:
    assert binary_frame(b"a" * 125)[:2] == b"\x82\x7d"
    assert binary_frame(b"a" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert binary_frame(b"a" * 65_536)[:10] == b"\x82\x7f" + (65_536).to_bytes(8, "big")


async def test_a_paused_socket_refuses_a_direct_send_until_it_drains() -> None:
    async with connection() as conn:
        conn.server.transport.set_write_buffer_limits(high=1024)
        big = b"y" * (4 << 20)  # more than the socket pair buffers: the rest waits in asyncio
        assert conn.send_now(big)
        assert not conn.server.writable.is_set()
        assert not conn.send_now(b"must wait behind the big one")
        frames = await conn.frames(1)  # reading drains the buffer
        assert bytes(frames[0].data) == big
        await asyncio.wait_for(conn.server.writable.wait(), 5)
        assert conn.send_now(b"after")
        assert bytes((await conn.frames(1))[0].data) == b"after"


async def test_no_direct_send_once_the_app_has_sent_its_close() -> None:
    async with connection() as conn:
        await conn.app_send({"type": "websocket.close", "code": 1000})
        assert not conn.send_now(b"too late")
        frames = await conn.frames(1)
    assert [f.opcode for f in frames] == [Opcode.CLOSE]


async def test_no_direct_send_once_the_client_has_asked_to_close() -> None:
    async with connection() as conn:
        conn.client.send_close(1000)
        conn.sock.sendall(b"".join(conn.client.data_to_send()))
        frames = await conn.frames(1)  # the server's answering close frame
        assert [f.opcode for f in frames] == [Opcode.CLOSE]
        assert not conn.send_now(b"too late")


async def test_no_direct_send_when_permessage_deflate_was_agreed() -> None:
    async with connection(deflate=True) as conn:
        assert conn.server.conn.extensions, "the client offered deflate: the server agrees"
        assert not conn.send_now(b"would skip the compressor")
