"""A peer's sends: written at once when nothing waits, never ahead of what is queued."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from collab.channel import MemoryChannel, SupportsSendNow, memory_channel_pair
from collab.peer import Peer, Role


class DirectChannel(MemoryChannel):
    """A memory channel that, like the websocket transport, can also write at once.

    It refuses a direct write while stalled, the way the transport refuses one
    while its socket is paused, and says when a queued send has started waiting.
    """

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.stalled = False
        self.direct = 0  # messages written by send_now
        self.send_waiting = asyncio.Event()

    def stall(self) -> None:
        self.stalled = True
        super().stall()

    def resume(self) -> None:
        self.stalled = False
        super().resume()

    async def send(self, message: bytes) -> None:
        self.send_waiting.set()
        await super().send(message)

    def send_now(self, message: bytes) -> bool:
        if self.stalled or self.closed or self.peer is None:
            return False
        self.peer._inbox.put_nowait(message)
        self.direct += 1
        return True


@contextlib.asynccontextmanager
async def peer_on(server: DirectChannel) -> AsyncIterator[Peer]:
    peer = Peer(server, Role.EDITOR, max_queue=100)
    sender = asyncio.create_task(peer.run_sender())
    try:
        yield peer
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


def direct_pair() -> tuple[DirectChannel, MemoryChannel]:
    server, client = DirectChannel("direct/server"), memory_channel_pair("unused")[1]
    server.peer, client.peer = client, server
    return server, client


async def receive(client: MemoryChannel, count: int) -> list[bytes]:
    return [await asyncio.wait_for(client.recv(), 2) for _ in range(count)]


async def test_a_message_with_nothing_queued_is_written_without_the_sender_task() -> None:
    server, client = direct_pair()
    assert isinstance(server, SupportsSendNow)
    async with peer_on(server) as peer:
        peer.send(b"a")
        peer.send(b"b")
        assert server.direct == 2
        assert await receive(client, 2) == [b"a", b"b"]


async def test_a_message_sent_while_an_earlier_one_is_being_written_waits_behind_it() -> None:
    server, client = direct_pair()
    async with peer_on(server) as peer:
        server.stall()
        peer.send(b"first")  # refused at once: queued
        await asyncio.wait_for(server.send_waiting.wait(), 2)  # the sender holds it, in flight
        server.resume()  # the socket could take a direct write now, but "first" is not out yet
        peer.send(b"second")
        assert server.direct == 0
        assert await receive(client, 2) == [b"first", b"second"]


async def test_messages_queued_while_stalled_all_go_out_before_a_later_one() -> None:
    server, client = direct_pair()
    async with peer_on(server) as peer:
        server.stall()
        for message in (b"1", b"2", b"3"):
            peer.send(message)
        await asyncio.wait_for(server.send_waiting.wait(), 2)
        server.resume()
        peer.send(b"4")
        assert await receive(client, 4) == [b"1", b"2", b"3", b"4"]
        peer.send(b"5")  # the queue is empty again: direct
        assert await receive(client, 1) == [b"5"]
        assert server.direct == 1


async def test_a_closing_peer_writes_nothing_more_directly() -> None:
    server, _client = direct_pair()
    async with peer_on(server) as peer:
        peer.close(4000, "bye")
        peer.send(b"late")
        assert server.direct == 0
