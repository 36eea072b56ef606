"""The transport's direct send, on a real uvicorn protocol over a real socket pair.

A direct write skips the ASGI send path, so it must refuse (answer False and
write nothing) whenever that path would have waited or framed differently:
before the handshake, while the socket is paused, once a close is under way,
and when permessage-deflate was agreed.
"""

from __future__ import annotations

import asyncio

from support.wsconn import connection
from websockets.frames import Opcode

from web.transport import binary_frame


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
