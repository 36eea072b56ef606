"""Several processes serving the same notes: edits and presence cross between them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from interop.nodeclient import NodeClient
from scaleout.helpers import Nodes, converged, each_typed, names, new_note, stored_text
from support.http import http
from support.server import ServerProcess
from support.services import Postgres, Redis

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("processes", [2, 3])
async def test_clients_spread_over_processes_converge(nodes: Nodes, processes: int) -> None:
    servers = nodes(processes)
    token = new_note(servers[0], "shared: ")
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                NodeClient.start(servers[i % processes].ws_url, token, name=f"p{i}")
            )
            for i in range(processes * 2)
        ]
        letters = "uvwxyzkm"[: len(clients)]  # each client types its own letter
        await asyncio.gather(
            *(
                c.type_text(letter * 30, interval_ms=3)
                for letter, c in zip(letters, clients, strict=True)
            )
        )
        final = await converged(clients, each_typed(letters, 30))
    for server in servers:  # every process serves, and the database holds, the same text
        assert stored_text(server, token) == final
        # ...and names every process's typists from the shared log (who wrote what).
        assert typed_by(server, token) == {"Anonymous": len("shared: ")} | {
            f"p{i}": 30 for i in range(len(clients))
        }


def typed_by(server: ServerProcess, token: str) -> dict[str, int]:
    """How many clocks (characters typed) ``GET .../authors`` gives each author."""
    answer = http.get(f"{server.url}/api/notes/{token}/authors")
    assert answer.status_code == 200, answer.text
    counts: dict[str, int] = {}
    for run in answer.json()["runs"]:
        counts[run["author"]] = counts.get(run["author"], 0) + run["end"] - run["start"]
    return counts


async def test_presence_crosses_processes_both_ways(nodes: Nodes) -> None:
    a, b = nodes(2)
    token = new_note(a)
    async with NodeClient.start(a.ws_url, token, name="ana") as ana:
        async with NodeClient.start(b.ws_url, token, name="ben", wait_synced=False) as ben:
            # The newcomer on B sees Ana (on A) at once, and Ana sees Ben.
            await ben.wait_for(
                lambda e: e["event"] == "awareness" and "ana" in names(e["states"]), timeout=3
            )
            await ana.wait_for(
                lambda e: e["event"] == "awareness" and "ben" in names(e["states"]), timeout=3
            )
            ana.drain()
            await ben.set_awareness({"user": {"name": "ben"}, "cursor": 7})
            await ana.wait_for(
                lambda e: (
                    e["event"] == "awareness"
                    and any(
                        isinstance(s, dict) and s.get("cursor") == 7 for s in e["states"].values()
                    )
                ),
                timeout=3,
            )
            ana.drain()
        # Ben left (from B): Ana, on A, sees him go.
        await ana.wait_for(
            lambda e: e["event"] == "awareness" and "ben" not in names(e["states"]), timeout=3
        )


async def test_two_deployments_on_one_redis_keep_to_themselves(
    tmp_path: Path, postgres: Postgres, redis: Redis
) -> None:
    """Each has a note 1; with their own prefixes, neither hears the other's edits or people."""
    servers = [
        ServerProcess(
            postgres.create_database(), tmp_path, "--redis-url", redis.url, "--redis-prefix", name
        )
        for name in ("one", "two")
    ]
    try:
        one, two = (server.start() for server in servers)
        tokens = [new_note(one), new_note(two)]  # empty: any update would apply to either
        async with (
            NodeClient.start(one.ws_url, tokens[0], name="ana") as ana,
            NodeClient.start(two.ws_url, tokens[1], name="ben") as ben,
        ):
            await ana.type_text("!" * 20, interval_ms=5)
            await converged([ana], lambda text: text.count("!") == 20)
            with pytest.raises(TimeoutError):  # sharing a prefix, Ben would see Ana here
                await ben.wait_for(
                    lambda e: e["event"] == "awareness" and "ana" in names(e["states"]), 1.5
                )
            assert await ben.text() == ""
        assert stored_text(two, tokens[1]) == ""
        assert stored_text(one, tokens[0]).count("!") == 20
        assert "(prefix one)" in one.log() and "(prefix two)" in two.log()
    finally:
        for server in servers:
            server.stop()


async def test_workers_share_one_port_and_a_killed_worker_is_replaced(
    tmp_path: Path, cluster_db: str, redis: Redis
) -> None:
    """``--workers 2``: one port, two processes; a worker that dies is started again,
    and its clients reconnect to the port and lose nothing."""
    server = ServerProcess(cluster_db, tmp_path, "--redis-url", redis.url, "--workers", "2")
    try:
        server.start()
        token = new_note(server, "shared: ")
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    NodeClient.start(server.ws_url, token, name=f"p{i}", max_backoff_ms=500)
                )
                for i in range(4)
            ]
            await converged(clients, lambda text: text == "shared: ")
            pids = {
                int(pid) for pid in re.findall(r"started worker \d \(pid (\d+)\)", server.log())
            }
            assert len(pids) == 2
            typing = asyncio.gather(
                *(
                    c.type_text(letter * 40, interval_ms=10)
                    for letter, c in zip("uvwx", clients, strict=True)
                )
            )
            await asyncio.sleep(0.2)
            os.kill(min(pids), signal.SIGKILL)
            await typing
            final = await converged(clients, each_typed("uvwx", 40), timeout=15)
            assert "starting it again" in server.log()
        assert stored_text(server, token) == final
    finally:
        server.stop()
