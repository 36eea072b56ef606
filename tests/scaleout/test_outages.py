"""Redis or a collab-notes process killed while people type: nothing is lost.

Redis is only a doorbell: while it is down, edits still commit and peers on
other processes converge through the database (the head check); when it comes
back the fan-out resumes by itself. A process killed behind a proxy takes its
connections with it; its clients reconnect to a survivor and resend what was
not acknowledged, and the others forget its peers' presence within seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from interop.nodeclient import NodeClient
from scaleout.helpers import (
    Nodes,
    converged,
    each_typed,
    metrics_when,
    names,
    new_note,
    stored_text,
)
from support.server import ServerProcess
from support.services import Nginx, Postgres, Redis, postgres_server

pytestmark = pytest.mark.interop

# y-websocket's reconnect backoff, capped low so that a reconnect never waits long
BACKOFF_MS = 500


@pytest.mark.parametrize(("down_s", "keystrokes"), [(2.0, 40), (15.0, 200)])
async def test_redis_killed_while_people_type_loses_nothing(
    nodes: Nodes, redis: Redis, down_s: float, keystrokes: int
) -> None:
    a, b = nodes(2)
    token = new_note(a)
    interval_ms = int(down_s * 500 / keystrokes)  # typing takes half the outage
    async with (
        NodeClient.start(a.ws_url, token, name="ana", max_backoff_ms=BACKOFF_MS) as ana,
        NodeClient.start(b.ws_url, token, name="ben", max_backoff_ms=BACKOFF_MS) as ben,
    ):
        typing = asyncio.gather(
            ana.type_text("u" * keystrokes, interval_ms=interval_ms),
            ben.type_text("v" * keystrokes, interval_ms=interval_ms),
        )
        await asyncio.sleep(0.2)
        redis.kill()
        killed = time.monotonic()
        await typing
        # Redis is still down: the processes' head checks carry the edits across.
        during = await converged([ana, ben], each_typed("uv", keystrokes), timeout=3.0)
        assert time.monotonic() - killed < down_s, "typing outlasted the outage"
        for server in (a, b):  # the metrics say what is happening
            samples = await metrics_when(server, lambda s: s["collab_redis_connected"] == 0)
            assert samples["collab_catchup_reads_total"] > 0
        await asyncio.sleep(max(0.0, down_s - (time.monotonic() - killed)))
        redis.start()
        back = time.monotonic()
        await ana.type_text("U")  # and the fan-out carries new edits again
        await ben.type_text("V")
        final = await converged(
            [ana, ben], lambda t: each_typed("uv", keystrokes)(t) and each_typed("UV", 1)(t), 2.0
        )
        settled_s = time.monotonic() - back
        assert settled_s < 2.0 + 0.5  # converged within 2 s of the outage's end
        print(f"\nRedis down {down_s:.0f} s: converged {settled_s:.2f} s after it returned")
        for server in (a, b):
            samples = await metrics_when(server, lambda s: s["collab_redis_connected"] == 1)
            assert samples["collab_redis_outages_total"] == 1
            assert samples["collab_fanout_messages_total"] > 0
    assert during.count("u") == during.count("v") == keystrokes
    for server in (a, b):
        assert stored_text(server, token) == final  # and the database holds all of it
        log = server.log()
        # Once per outage, not once per message.
        assert log.count("Redis is unreachable") == 1, log
        assert log.count("Redis is back") == 1, log


async def test_a_killed_process_behind_a_proxy_loses_nothing(nodes: Nodes, tmp_path: Path) -> None:
    a, b = nodes(2)
    proxy = Nginx(tmp_path / "nginx", [a.port, b.port]).start()
    try:
        token = new_note(a)
        letters = "uvwx"
        async with (
            NodeClient.start(proxy.ws_url, token, name="p0", max_backoff_ms=BACKOFF_MS) as p0,
            NodeClient.start(proxy.ws_url, token, name="p1", max_backoff_ms=BACKOFF_MS) as p1,
            NodeClient.start(proxy.ws_url, token, name="p2", max_backoff_ms=BACKOFF_MS) as p2,
            NodeClient.start(proxy.ws_url, token, name="p3", max_backoff_ms=BACKOFF_MS) as p3,
            NodeClient.start(b.ws_url, token, name="watcher") as watcher,
            NodeClient.start(a.ws_url, token, name="victim", reconnect=False),
        ):
            typists = [p0, p1, p2, p3]
            await watcher.wait_for(
                lambda e: e["event"] == "awareness" and "victim" in names(e["states"]), timeout=5
            )
            typing = asyncio.gather(
                *(
                    t.type_text(letter * 150, interval_ms=15)
                    for letter, t in zip(letters, typists, strict=True)
                )
            )
            await asyncio.sleep(1.0)
            a.kill()
            killed = time.monotonic()
            watcher.drain()
            await watcher.wait_for(
                lambda e: e["event"] == "awareness" and "victim" not in names(e["states"]),
                timeout=10.0,
            )
            gone_s = time.monotonic() - killed
            await typing
            final = await converged([*typists, watcher], each_typed(letters, 150), timeout=10.0)
        assert gone_s < 10.0
        print(f"\nthe killed process's client left the others' presence after {gone_s:.1f} s")
        assert stored_text(b, token) == final
        # The proxy really did spread the typists over both processes.
        assert "join note=" in a.log()
    finally:
        proxy.stop()


async def test_postgres_down_fails_writes_and_rooms_recover_when_it_returns(
    tmp_path: Path,
) -> None:
    """The database is the only truth: while it is away nothing is acknowledged or
    broadcast (the writer fails each batch, the room closes with 1011); the process
    stays up, and the clients' edits are saved once it answers again."""
    with postgres_server() as database:
        await _postgres_down_and_back(database, tmp_path)


async def _postgres_down_and_back(database: Postgres, tmp_path: Path) -> None:
    server = ServerProcess(database.create_database(), tmp_path)
    try:
        server.start()
        token = new_note(server, "before")
        async with (
            NodeClient.start(server.ws_url, token, name="ana", max_backoff_ms=BACKOFF_MS) as ana,
            NodeClient.start(server.ws_url, token, name="ben", max_backoff_ms=BACKOFF_MS) as ben,
        ):
            database.stop("immediate")
            await ana.insert(len("before"), " during")
            await ana.wait_for(lambda e: e["event"] == "close", timeout=10)
            await asyncio.sleep(4.0)  # longer than the writer's reconnection tries
            assert "during" not in await ben.text()  # never broadcast: it was never saved
            assert server.proc is not None and server.proc.poll() is None  # still serving
            database.resume()
            final = await converged([ana, ben], lambda t: t == "before during", timeout=15)
        assert stored_text(server, token) == final
        assert "could not save" in server.log()  # the 1011 its peers were closed with
        assert "writer stopped" not in server.log()
    finally:
        server.stop()
