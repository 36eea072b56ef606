"""What the scale-out tests share: notes made over REST, and waiting for clients to agree."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from interop.nodeclient import NodeClient
from prometheus_client.parser import text_string_to_metric_families
from support.http import http
from support.server import ServerProcess

Nodes = Callable[..., list[ServerProcess]]


def names(states: dict[Any, Any]) -> set[str]:
    """The user names in a client's awareness states."""
    return {s["user"]["name"] for s in states.values() if isinstance(s, dict) and "user" in s}


def new_note(server: ServerProcess, content: str = "") -> str:
    response = http.post(server.url + "/api/notes", json={"content": content}, timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


def stored_text(server: ServerProcess, token: str) -> str:
    response = http.get(f"{server.url}/api/notes/{token}", timeout=10)
    response.raise_for_status()
    return str(response.json()["content"])


async def converged(
    clients: list[NodeClient], check: Callable[[str], bool], timeout: float = 10.0
) -> str:
    """The text every client holds, once they all hold the same one and ``check`` accepts it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    texts: set[str] = set()
    while loop.time() < deadline:
        texts = {await client.text() for client in clients}
        if len(texts) == 1 and check(next(iter(texts))):
            return texts.pop()
        await asyncio.sleep(0.05)
    raise AssertionError(f"did not converge within {timeout} s: {texts}")


def each_typed(letters: str, count: int) -> Callable[[str], bool]:
    """Whether a text holds exactly ``count`` of each letter: every keystroke, none twice."""
    return lambda text: all(text.count(letter) == count for letter in letters)


async def metrics_when(
    server: ServerProcess, holds: Callable[[dict[str, float]], bool], timeout: float = 5.0
) -> dict[str, float]:
    """``/metrics``, each metric summed over its labels, once ``holds`` accepts it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = http.get(server.url + "/metrics", timeout=10)
        response.raise_for_status()
        sums: dict[str, float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
        if holds(sums):
            return sums
        if loop.time() > deadline:
            raise AssertionError(f"/metrics never showed what was expected: {sums}")
        await asyncio.sleep(0.05)
