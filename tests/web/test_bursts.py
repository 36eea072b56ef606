"""Bursts of ordinary use: many people opening one shared link at once."""

from __future__ import annotations

import asyncio
import time

import httpx
from support.live import LiveServer
from support.server import ServerProcess
from support.yclient import YClient


async def test_200_concurrent_reads_of_a_closed_note_all_answer_while_other_notes_sync(
    server: ServerProcess,
) -> None:
    shared = server.post_note("# After the meeting\n" + "minutes " * 20_000)
    others = [server.post_note(f"other {i}")["id"] for i in range(5)]
    async with httpx.AsyncClient(
        base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=250)
    ) as http:

        async def read() -> int:
            return (await http.get(f"/api/notes/{shared['view_id']}")).status_code

        async def sync(token: str) -> float:
            started = time.perf_counter()
            async with YClient.connect(server.ws_url, token) as client:
                assert str(client.text).startswith("other")
            return time.perf_counter() - started

        reads = [asyncio.create_task(read()) for _ in range(200)]
        await asyncio.sleep(0.05)  # the burst is under way when the others open their notes
        syncs = await asyncio.gather(*(sync(token) for token in others))
        statuses = await asyncio.gather(*reads)
    print(
        f"\n200 reads: {statuses.count(200)} answered 200; other notes synced in "
        f"{max(syncs) * 1000:.0f} ms at worst"
    )
    assert statuses.count(200) == 200, sorted(set(statuses))
    assert max(syncs) < 10, "other notes must keep syncing during the burst"


async def test_concurrent_reads_of_a_closed_note_load_it_once(live: LiveServer) -> None:
    note = live.post_note("shared")
    loads = 0
    store = live.services.store
    load = store.load

    async def counted(note_id: int):  # type: ignore[no-untyped-def]
        nonlocal loads
        loads += 1
        return await load(note_id)

    store.load = counted  # type: ignore[method-assign]
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        answers = await asyncio.gather(
            *(http.get(f"/api/notes/{note['view_id']}") for _ in range(20))
        )
    assert {answer.status_code for answer in answers} == {200}
    assert loads < 20, f"{loads} loads for 20 concurrent reads"
