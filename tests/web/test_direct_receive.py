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

from support.waiting import until
from support.wsconn import connection
from websockets.frames import Close, Frame, Opcode


async def test_binary_messages_go_to_the_receiver_in_order_and_not_to_receive() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client_sends(*(Frame(Opcode.BINARY, b"edit %d" % i) for i in range(50)))
        await until(lambda: len(got) == 50, what="50 messages received")
        assert got == [b"edit %d" % i for i in range(50)]
        assert conn.server.queue.empty(), "nothing went the ASGI way"


async def test_what_was_queued_first_is_received_first_then_the_receiver_takes_over() -> None:
    got: list[tuple[bytes, list[bytes]]] = []  # each message, and what the app had read then
    read: list[bytes] = []
    async with connection() as conn:
        conn.client_sends(Frame(Opcode.BINARY, b"before the receiver"))
        await until(lambda: not conn.server.queue.empty(), what="the first message queued")
        conn.set_receiver(lambda message: got.append((message, list(read))))
        conn.client_sends(Frame(Opcode.BINARY, b"after it"), Frame(Opcode.PING, b"probe"))
        # Nothing can overtake: while a message waits in the queue, uvicorn reads no
        # more of the socket (so the ping is not answered yet either).
        assert conn.server.read_paused
        read.append((await conn.app_receive())["bytes"])
        [pong] = await conn.frames(1)  # the server has parsed what came before the ping
        assert pong.opcode == Opcode.PONG
        assert got == [(b"after it", [b"before the receiver"])], "received in the wrong order"


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
        await until(lambda: got == [b"one two three"], what="one two three received")


async def test_without_a_receiver_messages_are_queued_again() -> None:
    got: list[bytes] = []
    async with connection() as conn:
        conn.set_receiver(got.append)
        conn.client_sends(Frame(Opcode.BINARY, b"direct"))
        await until(lambda: got == [b"direct"], what="direct received")
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
        assert [f.opcode for f in frames] == [Opcode.CLOSE]
        # The client's close completes the handshake, and the server ends the connection
        # only after it has parsed every frame sent before it: "too late" included.
        conn.client_sends(Frame(Opcode.CLOSE, Close(1000, "").serialize()))
        await conn.closed_by_server()
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
        await until(lambda: got == [b"z" * 10_000], what="the long message received")
