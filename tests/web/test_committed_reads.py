"""REST reads serve what is committed: never an edit still waiting for the disk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import psycopg
import pytest
from support.http import http
from support.live import LiveServer
from support.sql import query
from support.yclient import YClient

from collab import protocol


@contextmanager
def writes_held(database_url: str, note: int) -> Iterator[None]:
    """Hold the note's writes with a real second connection: SQLite's write lock, or
    a PostgreSQL row lock on the note (the writer's UPDATE of its head waits)."""
    if database_url.startswith("sqlite"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as lite:
            lite.isolation_level = None
            lite.execute("BEGIN IMMEDIATE")
            yield
            lite.execute("ROLLBACK")
        return
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as pg:  # leaving it rolls the lock back
        pg.execute("SELECT id FROM note WHERE id = %s FOR UPDATE", (note,))
        yield
        pg.rollback()


async def applied(client: YClient) -> None:
    """Wait until the server has handled what the client sent so far: it answers a
    query-awareness at once, after the frames before it."""
    answers = sum(message[0] == 1 for message in client.received)
    await client.ws.send(protocol.encode_query_awareness())
    await client.wait_until(lambda c: sum(m[0] == 1 for m in c.received) > answers)


async def reads(live: LiveServer, note: dict[str, str]) -> list[str]:
    """The note's text as each REST read serves it: both links, and the export (at once)."""
    answers = await asyncio.gather(
        asyncio.to_thread(live.get_note, note["id"]),
        asyncio.to_thread(live.get_note, note["view_id"]),
        asyncio.to_thread(http.get, f"{live.url}/api/notes/{note['id']}/export.md"),
    )
    return [answer.json()["content"] for answer in answers[:2]] + [answers[2].text]


@pytest.mark.slow
async def test_rest_reads_do_not_serve_an_edit_still_waiting_for_a_locked_database(
    live: LiveServer,
) -> None:
    note = live.post_note("saved")
    [(note_id,)] = query(
        live.settings.database_url, "SELECT id FROM note WHERE edit_token = :t", t=note["id"]
    )
    async with YClient.connect(live.ws_url, note["id"]) as client:
        with writes_held(live.settings.database_url, note_id):
            client.append(" and waiting")
            await applied(client)  # the room holds the edit; the disk does not
            served = await reads(live, note)
            assert served == ["saved"] * 3
        await client.wait_saved(timeout_s=20)
        assert await reads(live, note) == ["saved and waiting"] * 3
