"""A space's list is the same on every process: notes made or renamed anywhere show
everywhere within 2 s."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from scaleout.helpers import Nodes
from support.http import http
from support.server import ServerProcess
from support.yclient import YClient

pytestmark = pytest.mark.interop

LIVE_S = 2.0


def titles(server: ServerProcess, space: str) -> list[str]:
    answer: dict[str, Any] = http.get(f"{server.url}/api/spaces/{space}", timeout=10).json()
    return [note["title"] for note in answer["notes"]]


async def until(check: Any, timeout_s: float) -> float | None:
    """When ``check()`` first held (time.monotonic()), or None within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return time.monotonic()
        await asyncio.sleep(0.05)
    return None


async def test_a_note_made_and_renamed_on_one_process_is_listed_on_another(
    nodes: Nodes,
) -> None:
    a, b = nodes(2)
    space = http.post(f"{a.url}/api/spaces", json={"name": "Team"}, timeout=10).json()["id"]
    made = http.post(
        f"{b.url}/api/spaces/{space}/notes", json={"content": "# Draft\n"}, timeout=10
    ).json()
    assert titles(a, space) == ["Draft"]
    async with (
        YClient.connect(a.ws_url, made["id"]) as on_a,
        YClient.connect(b.ws_url, made["id"]) as on_b,
    ):
        on_b.insert(len("# Draft"), " two")
        await on_b.wait_saved()
        saved = time.monotonic()
        await on_a.wait_text("# Draft two\n")
        listed = await until(lambda: titles(a, space) == ["Draft two"], 5.0)
        assert listed is not None, titles(a, space)
        assert listed - saved < LIVE_S
