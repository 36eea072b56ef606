"""The transport's direct receive, on a real uvicorn protocol over a real socket pair.

A receiver takes binary messages straight from the parser, instead of the ASGI
queue and the app's ``receive``. It must keep what that path keeps: the order
of messages (whatever is queued is read first), text and the end of the
connection through ``receive``, nothing delivered once the app has sent its
close, whole messages however they were fragmented, and permessage-deflate
undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from support.wsconn import connection
from websockets.frames import Frame, Opcode


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


async def test_binary_messages_go_to_the_receiver_in_order_and_not_to_receive() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client_sends(*(Frame(Opcode.BINARY, b"edit %d" % i) for i in range(50)))
        await _until(lambda: len(got) == 50)
        assert got == [b"edit %d" % i for i in range(50)]
        assert conn.server.queue.empty(), "nothing went the ASGI way"


async def test_what_was_queued_first_is_received_first_then_the_receiver_takes_over() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.client_sends(Frame(Opcode.BINARY, b"before the receiver"))
        await _until(lambda: not conn.server.queue.empty())
        conn.set_receiver(got.append)
        conn.client_sends(Frame(Opcode.BINARY, b"after it"))
        await asyncio.sleep(0.05)
        assert got == [], "a message must not overtake the one queued before it"
        assert (await conn.app_receive())["bytes"] == b"before the receiver"
        await _until(lambda: got == [b"after it"])


async def test_text_goes_through_receive_and_holds_back_what_follows_it() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client_sends(Frame(Opcode.TEXT, b"text"), Frame(Opcode.BINARY, b"after the text"))
        assert await conn.app_receive() == {"type": "websocket.receive", "text": "text"}
        assert (await conn.app_receive())["bytes"] == b"after the text"
        assert got == []


async def test_a_fragmented_message_is_received_whole() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client_sends(
            Frame(Opcode.BINARY, b"one ", fin=False),
            Frame(Opcode.CONT, b"two ", fin=False),
            Frame(Opcode.CONT, b"three"),
        )
        await _until(lambda: got == [b"one two three"])


async def test_without_a_receiver_messages_are_queued_again() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client_sends(Frame(Opcode.BINARY, b"direct"))
        await _until(lambda: got == [b"direct"])
        conn.set_receiver(None)
        conn.client_sends(Frame(Opcode.BINARY, b"queued"))
        assert (await conn.app_receive())["bytes"] == b"queued"
        assert got == [b"direct"]


async def test_nothing_is_received_once_the_app_has_sent_its_close() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        await conn.app_send({"type": "websocket.close", "code": 1000})
        assert (await conn.app_receive())["type"] == "websocket.disconnect"  # uvicorn's own
        conn.client_sends(Frame(Opcode.BINARY, b"too late"))
        frames = await conn.frames(1)  # the server's close
        await asyncio.sleep(0.05)
        assert [f.opcode for f in frames] == [Opcode.CLOSE]
        assert got == []
        queued = [conn.server.queue.get_nowait() for _ in range(conn.server.queue.qsize())]
        assert all(message["type"] != "websocket.receive" for message in queued), queued


async def test_the_end_of_the_connection_goes_through_receive() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client.send_close(1000)
        conn.sock.sendall(b"".join(conn.client.data_to_send()))
        message = await asyncio.wait_for(conn.app_receive(), 5)
        assert message["type"] == "websocket.disconnect"
        assert got == []


async def test_compressed_messages_are_received_decompressed() -> None:
    got: list[bytes] = []
    async with connection(deflate=True) as conn:
        assert conn.server.conn.extensions
        conn.set_receiver(got.append)
        conn.client_sends(Frame(Opcode.BINARY, b"z" * 10_000))
        await _until(lambda: got == [b"z" * 10_000])
