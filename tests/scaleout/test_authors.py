"""Who wrote what across processes: the runs come from the shared log, so any process
answers for every process's typists, and picks up what others logged since it last did."""

from __future__ import annotations

import asyncio

import pytest
from scaleout.helpers import Nodes, new_note
from support.http import http
from support.server import ServerProcess
from support.yclient import YClient

pytestmark = pytest.mark.interop


def authors(server: ServerProcess, token: str) -> dict[int, list[tuple[int, int, str | None]]]:
    answer = http.get(f"{server.url}/api/notes/{token}/authors")
    assert answer.status_code == 200, answer.text
    found: dict[int, list[tuple[int, int, str | None]]] = {}
    for run in answer.json()["runs"]:
        found.setdefault(run["client"], []).append((run["start"], run["end"], run["author"]))
    return found


async def test_each_process_names_the_typists_of_every_process(nodes: Nodes) -> None:
    a, b = nodes(2)
    token = new_note(a)
    async with (
        YClient.connect(a.ws_url, token) as ana,
        YClient.connect(b.ws_url, token) as ben,
    ):
        await ana.set_presence({"user": {"name": "Ana"}})
        await ben.set_presence({"user": {"name": "Ben"}})
        await ana.wait_until(lambda c: ben.client_id in c.states)
        ana.append("Ana on A. ")
        ben.append("Ben on B. ")
        await asyncio.gather(ana.wait_saved(), ben.wait_saved())
        expected = {ana.client_id: [(0, 10, "Ana")], ben.client_id: [(0, 10, "Ben")]}
        for server in (a, b):
            assert authors(server, token) == expected
        ana.append("More.")  # logged by A: B's next answer has it, from the log
        await ana.wait_saved()
        assert authors(b, token)[ana.client_id] == [(0, 15, "Ana")]
        assert authors(a, token)[ana.client_id] == [(0, 15, "Ana")]
