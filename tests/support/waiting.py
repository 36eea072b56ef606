"""Waiting for a condition with a deadline, for state that offers no event to await.

A test waits for a positive sign that what it checks has happened (a room closed,
a row stored), never for a fixed time. Where the code under test sets an event or
resolves a future, await that; where it only changes state, :func:`until` looks at
the state after every turn of the event loop and fails, naming what it waited
for, once the deadline passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    condition: Callable[[], object], *, what: str, timeout_s: float = 5.0, every_s: float = 0.001
) -> None:
    """Return once ``condition()`` is true; raise ``AssertionError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(every_s)
