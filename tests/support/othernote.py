"""Two peers of an unrelated note typing to each other, for hostile-input tests: how much
an attack on one note delays every other note."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from support.yclient import YClient


class Served(Protocol):
    @property
    def ws_url(self) -> str: ...

    def post_note(self, content: str | None = None) -> dict[str, str]: ...


TESTS = str(Path(__file__).resolve().parent.parent)


def _shows(marker: str) -> Callable[[YClient], bool]:
    return lambda client: marker in str(client.text)


class OtherNote:
    """Two peers of an unrelated note typing to each other, timing every edit."""

    def __init__(self, writer: YClient, watcher: YClient) -> None:
        self.writer, self.watcher = writer, watcher
        self.delays_ms: list[float] = []
        self.sent_at: list[float] = []  # time.monotonic(), the same clock in every process

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            marker = f"<{n}>"
            started = time.perf_counter()
            self.sent_at.append(time.monotonic())
            self.writer.append(marker)
            await self.watcher.wait_until(_shows(marker), timeout_s=10)
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


class Apart:
    """What :func:`other_note_typing_apart` measured: every edit's round trip (ms), and
    when it was sent (``time.monotonic()``)."""

    def __init__(self) -> None:
        self.delays_ms: list[float] = []
        self.sent_at: list[float] = []


@contextlib.asynccontextmanager
async def other_note_typing_apart(server: Served) -> AsyncIterator[Apart]:
    """:func:`other_note_typing` in a process of its own.

    The test's own clients then cannot delay it: one that applies a large update
    holds the test's event loop, which would count against the server.
    """
    token = server.post_note()["id"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "support.othernote", server.ws_url, token,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    apart = Apart()
    try:
        ready = await asyncio.wait_for(child.stdout.readline(), 30)
        assert ready == b"typing\n", ready
        yield apart
    finally:
        child.stdin.write(b"stop\n")
        await child.stdin.drain()
        out, _ = await asyncio.wait_for(child.communicate(), 180)
        assert child.returncode == 0, f"the other note's typists failed: {out!r}"
        apart.sent_at, apart.delays_ms = json.loads(out)


async def _type_apart(ws_url: str, token: str) -> None:
    async with (
        YClient.connect(ws_url, token) as writer,
        YClient.connect(ws_url, token) as watcher,
    ):
        other, stop = OtherNote(writer, watcher), asyncio.Event()
        task = asyncio.create_task(other.run(stop))
        print("typing", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        stop.set()
        await task
    print(json.dumps([other.sent_at, other.delays_ms]), flush=True)


if __name__ == "__main__":
    asyncio.run(_type_apart(sys.argv[1], sys.argv[2]))
