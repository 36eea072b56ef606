"""A lost or late doorbell is repaired from the log; positions stay dense.

Two in-process servers share PostgreSQL and Redis; the second one's fan-out is
given faults on receipt (a dropped message, two messages swapped), as a lossy
bus would. What repairs them is the database: a gap in positions makes the
room read the log at once, and the head check catches a loss nothing follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
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


async def test_a_restore_notice_heard_before_its_edit_waits_for_the_edit_from_the_log(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    """The restore's own doorbell is lost on B and its notice is not: B holds the notice,
    reads the log up to the notice's position, tells Ben the edit, then the notice."""
    a, b = pair
    # No periodic head check (once the current one ends): only the notice's read repairs it.
    b.services.rooms.fanout.head_check_s = 3600  # type: ignore[attr-defined]  # Redis's only
    checked = asyncio.get_running_loop().time() + 1.2
    heard: list[str] = []  # B's text each time a notice reached its fan-out
    losing = False

    def lose_edits(deliver: Dispatch, channel: bytes, data: bytes) -> None:
        if decode(data).kind is Kind.NOTICE:
            heard.extend(str(room.text) for room in b.services.rooms.rooms.values())
        elif losing and committed(data):
            return
        deliver(channel, data)

    intercept(b, lose_edits)
    token = a.post_note("kept\n")["id"]
    versions = f"/api/notes/{token}/versions"
    async with YClient.connect(a.ws_url, token) as ana, YClient.connect(b.ws_url, token) as ben:
        await following(b)
        await ben.subscribe_notices()
        await ana.set_presence({"user": {"name": "Ana"}})
        async with httpx.AsyncClient(base_url=a.url, timeout=20) as api:
            named = await api.post(versions, json={"name": "kept"})
            assert named.status_code == 201, named.text
            ana.append("Ana's line\n")
            await ben.wait_text("kept\nAna's line\n")
            await asyncio.sleep(max(0.0, checked - asyncio.get_running_loop().time()))
            losing = True
            restored = await api.post(
                f"{versions}/{named.json()['id']}/restore", json={"author": "Ana"}
            )
            assert restored.status_code == 200, restored.text
        await ben.wait_until(lambda c: bool(c.notices()), timeout_s=5)
        assert ben.text_at_notice("restored") == "kept\n"  # the edit first, then the notice
    assert heard == ["kept\nAna's line\n"], "the notice came after the edit: nothing was held"
