"""Rooms by note: one load under concurrency, grace period, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.memclient import MemoryClient
from support.waiting import until

from collab import protocol
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
        await until(
            lambda: 1 in manager.rooms and manager.rooms[1].peer_count == 2,
            what="both connections in note 1's room",
        )
        assert store.loads == 1
        assert len(manager.rooms) == 1


async def test_an_empty_room_closes_after_the_grace_period(manager: RoomManager) -> None:
    async with MemoryClient.join(serve(manager), "a") as a:
        await a.edit(0, "hi")
    assert 1 in manager.rooms
    await until(lambda: 1 not in manager.rooms, what="the empty room closed")
    async with MemoryClient.join(serve(manager), "b") as b:
        assert str(b.text) == "hi"


async def test_a_reconnect_during_the_grace_period_keeps_the_room(manager: RoomManager) -> None:
    async with MemoryClient.join(serve(manager), "a"):
        pass
    room = manager.rooms[1]
    async with MemoryClient.join(serve(manager), "b"):
        # Another room, left later than note 1's, closing is the sign that note 1's
        # grace period would have run out too.
        async with MemoryClient.join(serve(manager, 2), "c"):
            pass
        await until(lambda: 2 not in manager.rooms, what="note 2's empty room closed")
        assert manager.rooms.get(1) is room
    store = manager.store
    assert isinstance(store, MemoryStore)
    assert store.loads == 2  # note 1 once, note 2 once


async def test_rooms_of_different_notes_are_separate(manager: RoomManager) -> None:
    async with (
        MemoryClient.join(serve(manager, 1), "a") as a,
        MemoryClient.join(serve(manager, 2), "b") as b,
    ):
        await a.edit(0, "one")
        store = manager.store
        assert isinstance(store, MemoryStore)
        # Stored, so broadcast to note 1's room by now.
        await until(lambda: store.logs.get(1), what="note 1's edit stored")
        await a.roundtrip()
        await b.roundtrip()
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
    assert store.logs[1]


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


class _CountingStore(MemoryStore):
    """Records the most rooms loaded, or being loaded, at once: checked as each load starts."""

    def __init__(self) -> None:
        super().__init__()
        self.manager: RoomManager | None = None
        self.loading = 0
        self.most = 0

    async def load(self, note: int):  # type: ignore[no-untyped-def]
        assert self.manager is not None
        self.loading += 1
        self.most = max(self.most, len(self.manager.rooms) + self.loading)
        try:
            return await super().load(note)
        finally:
            self.loading -= 1


def counted(max_rooms: int, grace_s: float = 60) -> tuple[RoomManager, _CountingStore]:
    store = _CountingStore()
    store.manager = RoomManager(store, grace_s=grace_s, max_rooms=max_rooms)
    return store.manager, store


async def test_two_new_notes_opened_at_once_respect_a_limit_of_one_room() -> None:
    rooms, store = counted(max_rooms=1)
    async with rooms:
        codes = await asyncio.gather(_visit(rooms, 1, "one"), _visit(rooms, 2, "two"))
    assert store.most == 1
    assert sorted(codes) == [CloseCode.NORMAL, CloseCode.TRY_AGAIN_LATER]


async def test_reopening_a_room_while_the_manager_makes_space_ends_with_close_codes() -> None:
    """Closing idle rooms to make space races a peer reopening one of them."""
    rooms, store = counted(max_rooms=1)
    async with rooms:
        # Two concurrent opens of new notes: at most one may load. Note 2's
        # client leaves last, so its room is second in line to be unloaded.
        results = await asyncio.gather(
            _visit(rooms, 1, "one"), _visit(rooms, 2, "two", 0.05), return_exceptions=True
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        store.hold()  # the next close's checkpoint waits: a window for the race
        newcomer = asyncio.create_task(_visit(rooms, 3, "three"))
        reopen = asyncio.create_task(_visit(rooms, 2, "two again", 0.05))
        await asyncio.sleep(0.01)
        store.release()
        results = await asyncio.gather(newcomer, reopen, return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert all(code in set(CloseCode) for code in results), results
    assert store.most == 1


async def _visit(rooms: RoomManager, note: int, text: str, linger_s: float = 0) -> int:
    """Join, type if let in, stay ``linger_s``, leave; the close code the client saw."""
    async with MemoryClient.join(serve(rooms, note), text, sync=False) as client:
        await client.channel.send(protocol.encode_sync_step1(client.doc.get_state()))
        await client.wait_until(lambda c: c.synced.is_set() or c.closed.is_set(), 5)
        if not client.closed.is_set():
            await client.edit(0, text)
            await asyncio.sleep(linger_s)
    await client.closed.wait()
    return client.channel.close_code or 0


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    visits=st.lists(st.tuples(st.integers(1, 5), st.floats(0, 0.01)), min_size=4, max_size=14),
    limit=st.integers(1, 3),
)
def test_random_opens_and_reopens_never_exceed_the_limit(
    visits: list[tuple[int, float]], limit: int
) -> None:
    """Opens, closes and reopens of random notes at once, under a small room limit."""

    async def run() -> None:
        rooms, store = counted(max_rooms=limit, grace_s=0.005)
        async with rooms:

            async def visit(note: int, delay: float) -> int:
                await asyncio.sleep(delay)
                return await _visit(rooms, note, f"note {note}")

            codes = await asyncio.wait_for(
                asyncio.gather(*(visit(note, delay) for note, delay in visits)), 20
            )
        assert store.most <= limit
        named = {CloseCode.NORMAL, CloseCode.TRY_AGAIN_LATER, CloseCode.GOING_AWAY}
        assert set(codes) <= named, codes
        for note in {note for note, _ in visits}:
            let_in = [c for (n, _), c in zip(visits, codes, strict=True) if n == note]
            if CloseCode.NORMAL in let_in:
                assert stored_text(store, note).endswith(f"note {note}")

    asyncio.run(run())


def stored_text(store: MemoryStore, note: int) -> str:
    doc: pycrdt.Doc = pycrdt.Doc()
    for update in store.logs.get(note, []):
        doc.apply_update(update)
    return str(doc.get("content", type=pycrdt.Text))
