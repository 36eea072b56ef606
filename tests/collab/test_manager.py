"""Rooms by note: one load under concurrency, grace period, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.memclient import MemoryClient

from collab.channel import MemoryChannel
from collab.errors import CloseCode
from collab.manager import RoomManager
from collab.persistence import MemoryStore


@pytest.fixture
async def manager() -> AsyncIterator[RoomManager]:
    async with RoomManager(MemoryStore(), grace_s=0.1) as rooms:
        yield rooms


def serve(rooms: RoomManager, note: int = 1):  # type: ignore[no-untyped-def]
    return lambda channel: rooms.serve(note, channel)


async def test_two_connections_racing_to_open_a_note_share_one_load_and_one_room(
    manager: RoomManager,
) -> None:
    store = manager.store
    assert isinstance(store, MemoryStore)
    async with (
        MemoryClient.join(serve(manager), "a", sync=False),
        MemoryClient.join(serve(manager), "b", sync=False),
    ):
        while manager.rooms.get(1) is None or manager.rooms[1].peer_count < 2:
            await asyncio.sleep(0.001)
        assert store.loads == 1
        assert len(manager.rooms) == 1


async def test_an_empty_room_closes_after_the_grace_period(manager: RoomManager) -> None:
    async with MemoryClient.join(serve(manager), "a") as a:
        await a.edit(0, "hi")
    assert 1 in manager.rooms
    while 1 in manager.rooms:
        await asyncio.sleep(0.01)
    async with MemoryClient.join(serve(manager), "b") as b:
        assert str(b.text) == "hi"


async def test_a_reconnect_during_the_grace_period_keeps_the_room(manager: RoomManager) -> None:
    async with MemoryClient.join(serve(manager), "a"):
        pass
    room = manager.rooms[1]
    async with MemoryClient.join(serve(manager), "b"):
        await asyncio.sleep(0.2)  # longer than the grace period
        assert manager.rooms.get(1) is room
    store = manager.store
    assert isinstance(store, MemoryStore)
    assert store.loads == 1


async def test_rooms_of_different_notes_are_separate(manager: RoomManager) -> None:
    async with (
        MemoryClient.join(serve(manager, 1), "a") as a,
        MemoryClient.join(serve(manager, 2), "b") as b,
    ):
        await a.edit(0, "one")
        await asyncio.sleep(0.02)
        assert str(b.text) == ""
        assert len(manager.rooms) == 2


async def test_shutdown_closes_every_peer_with_1001_and_keeps_their_edits() -> None:
    store = MemoryStore()
    rooms = RoomManager(store, grace_s=10)
    async with rooms, MemoryClient.join(serve(rooms), "a") as a:
        await a.edit(0, "saved")
        await rooms.shutdown()
        await a.closed.wait()
        assert a.channel.close_code == CloseCode.GOING_AWAY
    assert store.logs[1] or 1 in store.snapshots


async def test_serving_before_entering_the_manager_is_a_clear_error() -> None:
    rooms = RoomManager(MemoryStore())
    with pytest.raises(RuntimeError, match="entered"):
        await rooms.serve(1, MemoryChannel("x"))


async def test_at_the_room_limit_an_idle_room_is_unloaded_to_make_space() -> None:
    async with RoomManager(MemoryStore(), grace_s=60, max_rooms=1) as rooms:
        async with MemoryClient.join(serve(rooms, 1), "a") as a:
            await a.edit(0, "one")
        assert list(rooms.rooms) == [1]  # idle, in its grace period
        async with MemoryClient.join(serve(rooms, 2), "b"):
            assert list(rooms.rooms) == [2]
        async with MemoryClient.join(serve(rooms, 1), "a again") as again:
            assert str(again.text) == "one"


async def test_at_the_room_limit_with_no_idle_room_a_newcomer_is_told_to_retry() -> None:
    async with (
        RoomManager(MemoryStore(), max_rooms=1) as rooms,
        MemoryClient.join(serve(rooms, 1), "a"),
        MemoryClient.join(serve(rooms, 2), "b", sync=False) as b,
    ):
        await b.closed.wait()
        assert b.channel.close_code == CloseCode.TRY_AGAIN_LATER
