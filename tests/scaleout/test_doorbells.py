"""A lost or late doorbell is repaired from the log; positions stay dense.

Two in-process servers share PostgreSQL and Redis; the second one's fan-out is
given faults on receipt (a dropped message, two messages swapped), as a lossy
bus would. What repairs them is the database: a gap in positions makes the
room read the log at once, and the head check catches a loss nothing follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from support.live import LiveServer
from support.services import Redis
from support.yclient import YClient

from cluster.messages import Kind, decode

Dispatch = Callable[[bytes, bytes], None]


@pytest.fixture
def pair(cluster_db: str, redis: Redis) -> Iterator[tuple[LiveServer, LiveServer]]:
    a = LiveServer(cluster_db, redis_url=redis.url).start()
    b = LiveServer(cluster_db, redis_url=redis.url).start()
    yield a, b
    b.stop()
    a.stop()


def intercept(server: LiveServer, fault: Callable[[Dispatch, bytes, bytes], None]) -> None:
    """Pass every message the server's fan-out receives through ``fault`` first."""
    fanout = server.services.rooms.fanout
    deliver: Dispatch = fanout._dispatch  # type: ignore[attr-defined]
    fanout._dispatch = lambda channel, data: fault(deliver, channel, data)  # type: ignore[attr-defined]


def logged_positions(url: str, token: str) -> list[int]:
    """The note's positions in the update log, read from the database itself."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT position FROM update_log JOIN note ON note.id = update_log.note_id"
                    " WHERE note.edit_token = :token ORDER BY position"
                ),
                {"token": token},
            )
            return [row[0] for row in found]
    finally:
        engine.dispose()


async def following(server: LiveServer) -> None:
    """Wait until the server's fan-out hears the channel of the note it has open."""
    fanout = server.services.rooms.fanout
    for _ in range(200):
        notes = list(server.services.rooms.rooms)
        if notes and all(fanout.follows(note) for note in notes):  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the fan-out never subscribed to the note")


def committed(data: bytes) -> bool:
    return decode(data).kind is Kind.COMMITTED


async def test_a_dropped_doorbell_is_repaired_from_the_log(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    dropped: list[bytes] = []

    def drop_first(deliver: Dispatch, channel: bytes, data: bytes) -> None:
        if committed(data) and not dropped:
            dropped.append(data)
            return
        deliver(channel, data)

    intercept(b, drop_first)
    token = a.post_note()["id"]
    async with YClient.connect(a.ws_url, token) as ana, YClient.connect(b.ws_url, token) as ben:
        await following(b)
        ana.append("lost on the bus")  # its doorbell is dropped, and nothing follows it
        await ana.wait_saved()
        await ben.wait_text("lost on the bus", timeout_s=5)  # the head check read it
        ana.append(", then more")
        await ben.wait_text("lost on the bus, then more")
    assert dropped, "the fault never fired"
    assert b.get_note(token).json()["content"] == "lost on the bus, then more"


async def test_a_gap_makes_the_room_read_the_log_at_once(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    held: list[tuple[bytes, bytes]] = []
    swapped: list[int] = []

    def swap_two(deliver: Dispatch, channel: bytes, data: bytes) -> None:
        if committed(data) and not held and not swapped:
            held.append((channel, data))  # the first arrives after the second
            return
        deliver(channel, data)
        if held and committed(data):
            deliver(*held.pop())
            swapped.append(decode(data).position)

    intercept(b, swap_two)
    # No periodic head check here (once the current one ends): only the gap can repair it.
    b.services.rooms.fanout.head_check_s = 3600  # type: ignore[attr-defined]
    await asyncio.sleep(1.2)
    token = a.post_note()["id"]
    async with YClient.connect(a.ws_url, token) as ana, YClient.connect(b.ws_url, token) as ben:
        await following(b)
        ana.append("one")
        await ana.wait_saved()
        ana.append(" two")
        await ana.wait_saved()
        await ben.wait_text("one two", timeout_s=2)
    assert swapped, "the fault never fired"
    assert "catching up" not in b.log()  # no read failed


async def test_concurrent_writers_in_two_processes_keep_positions_dense(
    pair: tuple[LiveServer, LiveServer], cluster_db: str
) -> None:
    a, b = pair
    token = a.post_note()["id"]
    async with YClient.connect(a.ws_url, token) as ana, YClient.connect(b.ws_url, token) as ben:
        for i in range(100):
            ana.append("a")
            ben.append("b")
            if i % 10 == 0:
                await asyncio.sleep(0.01)
        await ana.wait_saved()
        await ben.wait_saved()
        await ana.wait_until(lambda c: str(c.text).count("b") == 100)
        await ben.wait_until(lambda c: str(c.text).count("a") == 100)
    positions = logged_positions(cluster_db, token)
    assert len(positions) >= 2
    assert positions == list(range(1, len(positions) + 1))  # dense: no gap, no repeat
