"""A background loop owned by a ``with`` block: the one shape of the app's keepers and watchers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def running(loop: Callable[[], Coroutine[Any, Any, None]], name: str) -> AsyncIterator[None]:
    """Run ``loop()`` as a task named ``name`` for as long as the context is open; on leaving
    it, cancel the task and wait for it to end."""
    task = asyncio.get_running_loop().create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
