"""Searching a test server over HTTP: one search, or polling until something is found."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from support.http import http


def search(
    server: Any, q: str, tokens: list[str], *, deleted: bool = False
) -> list[dict[str, Any]]:
    response = http.post(
        f"{server.url}/api/search",
        json={"q": q, "tokens": tokens, "deleted": deleted},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def wait_found(
    server: Any, q: str, tokens: list[str], *, deleted: bool = False, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """Poll until the search finds something; the results (raises after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        results = await asyncio.to_thread(search, server, q, tokens, deleted=deleted)
        if results or time.monotonic() > deadline:
            assert results, f"{q!r} not found within {timeout_s} s"
            return results
        await asyncio.sleep(0.05)
