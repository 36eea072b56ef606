"""Two peers of an unrelated note typing to each other, for hostile-input tests: how much
an attack on one note delays every other note."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Protocol

from support.yclient import YClient


class Served(Protocol):
    @property
    def ws_url(self) -> str: ...

    def post_note(self, content: str | None = None) -> dict[str, str]: ...


class OtherNote:
    """Two peers of an unrelated note typing to each other, timing every edit."""

    def __init__(self, writer: YClient, watcher: YClient) -> None:
        self.writer, self.watcher = writer, watcher
        self.delays_ms: list[float] = []

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            marker = f"<{n}>"
            started = time.perf_counter()
            self.writer.append(marker)
            await self.watcher.wait_until(lambda c, m=marker: m in str(c.text), timeout_s=10)
            self.delays_ms.append((time.perf_counter() - started) * 1000)
            n += 1
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def other_note_typing(server: Served) -> AsyncIterator[OtherNote]:
    token = server.post_note()["id"]
    async with (
        YClient.connect(server.ws_url, token) as writer,
        YClient.connect(server.ws_url, token) as watcher,
    ):
        other, stop = OtherNote(writer, watcher), asyncio.Event()
        task = asyncio.create_task(other.run(stop))
        try:
            yield other
        finally:
            stop.set()
            await task
