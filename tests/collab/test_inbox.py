"""A peer's inbox: frames handed over directly by the channel, or read from it, in order,
rate-limited, and a frame that fails closes only its own peer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from collab.channel import MemoryChannel, SupportsDirectReceive, memory_channel_pair
from collab.errors import CloseCode, MalformedMessage
from collab.inbox import INTERNAL_ERROR_REASON, Inbox
from collab.peer import Peer, Role


class ReceivingChannel(MemoryChannel):
    """A memory channel that, like the websocket transport, hands over what arrives."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.receiver: Callable[[bytes], None] | None = None
        self.receiver_set = asyncio.Event()

    def receive_directly(self, receiver: Callable[[bytes], None] | None) -> bool:
        self.receiver = receiver
        self.receiver_set.set()
        return True

    def arrives(self, *messages: bytes) -> None:
        """The transport parsed these, with nothing queued ahead of them."""
        for message in messages:
            assert self.receiver is not None, "the inbox is not listening"
            self.receiver(message)


@contextlib.asynccontextmanager
async def inbox(
    handle: Callable[[Peer, bytes], None], *, max_per_s: float = 1000, burst: float = 1000
) -> AsyncIterator[tuple[ReceivingChannel, MemoryChannel, Peer, asyncio.Task[None]]]:
    server, client = ReceivingChannel("inbox/server"), memory_channel_pair("unused")[1]
    server.peer, client.peer = client, server
    peer = Peer(server, Role.EDITOR, max_queue=100)
    reading = asyncio.create_task(Inbox(peer, handle, max_per_s, burst).run())
    await asyncio.wait_for(server.receiver_set.wait(), 5)
    try:
        yield server, client, peer, reading
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading


async def test_the_websocket_channel_kind_is_recognised() -> None:
    assert isinstance(ReceivingChannel("x"), SupportsDirectReceive)
    assert not isinstance(MemoryChannel("x"), SupportsDirectReceive)


async def test_frames_handed_over_and_frames_read_are_handled_in_the_order_they_came() -> None:
    handled: list[bytes] = []
    async with inbox(lambda peer, frame: handled.append(frame)) as (server, client, _, reading):
        await client.send(b"read 1")
        await asyncio.sleep(0)  # the reading task takes it
        server.arrives(b"direct 2", b"direct 3")
        await client.send(b"read 4")
        await asyncio.sleep(0.01)
        assert handled == [b"read 1", b"direct 2", b"direct 3", b"read 4"]
        await client.close(1000, "bye")
        await asyncio.wait_for(reading, 5)
    assert server.receiver is None, "the transport queues again once the inbox is gone"


async def test_a_peer_past_its_message_rate_is_closed_with_4429_and_nothing_more_handled() -> None:
    handled: list[bytes] = []
    async with inbox(lambda peer, frame: handled.append(frame), max_per_s=1, burst=2) as (
        server,
        _,
        peer,
        _reading,
    ):
        server.arrives(b"1", b"2", b"3", b"4", b"5")
        assert handled == [b"1", b"2"]
        assert peer.closing and peer.close_frame is not None
        assert peer.close_frame[0] == CloseCode.TOO_MANY_REQUESTS


async def test_a_refused_frame_closes_the_peer_with_its_code() -> None:
    def refuse(peer: Peer, frame: bytes) -> None:
        raise MalformedMessage("not a y-websocket message")

    async with inbox(refuse) as (server, _, peer, _reading):
        server.arrives(b"\xff")
    assert peer.close_frame == (CloseCode.INVALID_PAYLOAD, "not a y-websocket message")


@pytest.mark.parametrize("way", ["direct", "read"])
async def test_an_unexpected_error_closes_only_its_peer_with_1011_and_is_logged(
    way: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handle(peer: Peer, frame: bytes) -> None:
        if frame == b"boom":
            raise RuntimeError("a bug")

    caplog.set_level(logging.ERROR, logger="collab.inbox")
    async with (
        inbox(handle) as (server, client, peer, _reading),
        inbox(handle) as (other_server, _, other, _other_reading),
    ):
        if way == "direct":
            server.arrives(b"boom")
        else:
            await client.send(b"boom")
            await asyncio.wait_for(peer.wait_closing(), 5)
        other_server.arrives(b"fine")
        assert peer.close_frame == (CloseCode.INTERNAL_ERROR, INTERNAL_ERROR_REASON)
        assert not other.closing
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
