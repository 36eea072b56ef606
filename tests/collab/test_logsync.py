"""collab.logsync: a room's position in its note's log, and the reads that move it.

Another process's writes are made by a second document here and logged in a
``MemoryStore`` as that process would commit them; the ``LogSync`` under test
keeps a room's replica level with that log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pycrdt
import pytest

from collab import protocol
from collab.channel import memory_channel_pair
from collab.events import NO_EVENTS, NoEvents, RoomEvents
from collab.logsync import LogSync, spawner
from collab.peer import Peer, Role
from collab.persistence import MemoryStore
from collab.protocol import SyncUpdate
from collab.replica import Replica

NOTE = 1


def typed(*chunks: str) -> list[bytes]:
    """The updates of another process's writer typing ``chunks`` one after the other."""
    doc: pycrdt.Doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    updates = []
    for chunk in chunks:
        before = doc.get_state()
        text += chunk
        updates.append(doc.get_update(before))
    return updates


class Room:
    """What a room gives its LogSync: a replica, its peers, and the tasks it owns."""

    def __init__(self, store: MemoryStore, *held: bytes, events: RoomEvents = NO_EVENTS) -> None:
        doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
        for update in held:
            doc.apply_update(update)
        self.replica = Replica(doc)
        self.peers: set[Peer] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.spawned = 0
        run = spawner(self.tasks, lambda: self.log.catch_up())

        def spawn(name: str) -> None:
            self.spawned += 1
            run(name)

        self.log = LogSync(NOTE, store, self.replica, self.peers, len(held), spawn, events)

    @property
    def text(self) -> str:
        return str(self.replica.text)

    async def reads_done(self) -> None:
        while self.tasks:
            await asyncio.gather(*self.tasks)


@pytest.fixture
def updates() -> list[bytes]:
    return typed("a", "b", "c")


@pytest.fixture
def store(updates: list[bytes]) -> Iterator[MemoryStore]:
    store = MemoryStore()
    store.seed(NOTE, *updates)  # positions 1, 2, 3
    yield store


async def test_the_next_position_is_applied_at_once_without_a_read(
    store: MemoryStore, updates: list[bytes]
) -> None:
    room = Room(store)
    room.log.remote(1, updates[0])
    assert (room.log.known, room.text, room.spawned) == (1, "a", 0)


async def test_a_position_the_document_holds_is_ignored(
    store: MemoryStore, updates: list[bytes]
) -> None:
    room = Room(store, updates[0])
    room.log.remote(1, updates[0])
    room.log.remote(1, None)
    assert (room.log.known, room.text, room.spawned) == (1, "a", 0)


async def test_own_commits_beyond_a_gap_wait_in_ahead_until_it_closes() -> None:
    room = Room(MemoryStore())
    room.log.local([1, 2])
    room.log.local([4, 5])
    assert (room.log.known, room.log.ahead) == (2, {4, 5})
    assert room.log.has(4) and not room.log.has(3)
    room.log.local([3])
    assert (room.log.known, room.log.ahead) == (5, set())


async def test_a_gap_starts_one_read_of_the_log_that_brings_everything(
    store: MemoryStore, updates: list[bytes]
) -> None:
    room = Room(store)
    room.log.remote(3, updates[2])  # 1 and 2 never arrived
    room.log.remote(2, updates[1])  # nor would 2 apply without 1
    assert room.text == ""
    await room.reads_done()
    assert (room.log.known, room.text) == (3, "abc")
    assert (room.spawned, room.log.catch_ups) == (1, 1)


async def test_a_doorbell_without_its_update_reads_the_log(store: MemoryStore) -> None:
    room = Room(store)
    room.log.remote(1, None)
    await room.reads_done()
    assert (room.log.known, room.text, room.log.catch_ups) == (3, "abc", 1)


async def test_the_next_positions_update_that_needs_a_missing_one_is_read_instead(
    store: MemoryStore, updates: list[bytes]
) -> None:
    room = Room(store, updates[0])
    room.log.remote(2, updates[2])  # a message that lies about its position
    assert (room.log.known, room.text) == (1, "a")
    await room.reads_done()
    assert (room.log.known, room.text) == (3, "abc")


class AskingAgain(NoEvents):
    """Another doorbell rings while the first read is under way."""

    def __init__(self) -> None:
        self.log: LogSync | None = None
        self.reads = 0

    def log_read(self) -> None:
        self.reads += 1
        if self.reads == 1 and self.log is not None:
            self.log.remote(3, None)


async def test_requests_before_a_read_share_it_and_one_during_it_makes_one_more(
    store: MemoryStore,
) -> None:
    events = AskingAgain()
    room = Room(store, events=events)
    for position in (1, 2, 3):
        room.log.remote(position, None)  # three doorbells before the read starts: one read
    events.log = room.log
    await room.reads_done()
    assert (room.spawned, room.log.catch_ups, events.reads) == (1, 2, 2)
    assert (room.log.known, room.text) == (3, "abc")


async def test_behind_compares_a_head_with_what_the_document_holds(
    updates: list[bytes],
) -> None:
    room = Room(MemoryStore(), *updates[:2])
    assert room.log.behind(3)
    assert not room.log.behind(2)


async def test_settle_reads_the_log_now_without_a_task(store: MemoryStore) -> None:
    room = Room(store)
    await room.log.settle()
    assert (room.log.known, room.text, room.spawned) == (3, "abc", 0)


async def test_what_a_read_applies_reaches_the_peers_as_one_frame(store: MemoryStore) -> None:
    room = Room(store)
    server_end, client_end = memory_channel_pair("peer")
    peer = Peer(server_end, Role.EDITOR, max_queue=16)
    room.peers.add(peer)
    sending = asyncio.create_task(peer.run_sender())
    try:
        room.log.remote(1, None)
        frame = await asyncio.wait_for(client_end.recv(), 2)
        message = protocol.parse_message(frame)
        assert isinstance(message, SyncUpdate)  # one frame, however many rows were read
        doc: pycrdt.Doc = pycrdt.Doc()
        doc.apply_update(message.update)
        assert str(doc.get("content", type=pycrdt.Text)) == "abc"
    finally:
        sending.cancel()
