"""Keeping who-wrote-what level with the log, off the keystroke path, before anyone asks.

``GET .../authors`` folds the log rows after the stored runs' mark into them
(``storage/attribution.py``): 10-20 us a row, so 1-2 s for 100,000 rows nobody
had asked about. The keeper folds them in beforehand:

- when a note's room closes (once per editing session here);
- and every :data:`SWEEP_S`, for every note of the database whose log is
  :data:`LEVEL_ROWS` or more past its runs: notes with history and no runs
  after a start or an upgrade (a backfill that resumes where it stopped, since
  each step stores its runs), rooms typed in for long, notes another process
  wrote to. A room opening needs nothing of its own: its note was brought level
  when it last closed, or is caught by the sweep.

So ``GET .../authors`` reads fewer than :data:`LEVEL_ROWS` rows plus those logged
since the last sweep. A note :data:`APART_ROWS` or more behind (a backfill) is
levelled in a process of its own at a lower priority (``storage/levelling.py``);
a nearer one in a worker thread, :data:`STEP_ROWS` rows at a time, each step
followed by a rest as long as the step (:data:`REST`). Several processes on one
PostgreSQL database each sweep; a note's lock (``storage.locks.AUTHORS``) gives
each note to one of them, and the mark's condition keeps their writes apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine

from collab.restore import run_apart
from storage.attribution import level
from storage.levelling import behind, level_apart
from web.background import running
from web.logs import Failures

logger = logging.getLogger("web.authors_keeper")

LEVEL_ROWS = 1_000
"""A note this many log rows past its runs is brought level by a sweep: what a request
reads is under it plus a sweep's rows (10-40 ms at 10-40 us a row, loaded)."""
STEP_ROWS = 5_000  # rows folded per worker-thread call: 50-200 ms of CPU
APART_ROWS = 2 * LEVEL_ROWS
"""A note this many rows behind is levelled in a process of its own (``storage/levelling.py``):
in a thread, a backfill of 100,000 rows took joins of other notes from 6 to 16 ms (p50)."""
REST = 1.0  # after each step, a pause this many times its duration
SWEEP_S = 2.0
"""How often notes are looked for: one query over the note table (33-56 ms for 10,000 notes
on SQLite, at load 12); a note typed in grows its unread rows by this much typing at most."""
SWEEP_NOTES = 20  # notes brought level per sweep
RETRY_S = 60.0  # a backfill that failed (an outage, a full disk) waits this long to run again


class AuthorsKeeper:
    """Brings notes' runs level with their logs, one note at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._due: set[int] = set()
        self._wake = asyncio.Event()
        self._tried: dict[int, int] = {}  # note -> its head when a sweep last levelled it
        self._retry_at: dict[int, float] = {}  # note -> when a failed backfill may run again
        self._after = 0  # the note a sweep goes on after: they take the notes by id
        self._failures = Failures(logger, engine, "authors")  # a sweep every 2 s: see Failures
        self.done = 0  # notes brought up to date (for tests)

    def closed(self, note: int) -> None:
        """The note's room closed (``RoomManager.on_closed``)."""
        self._due.add(note)
        self._wake.set()

    async def run(self) -> None:
        """Bring each note told of up to date, and sweep, until cancelled."""
        while True:
            while self._due:
                await self._level(self._due.pop())
            more = False
            try:
                more = await self.sweep()
            except Exception as error:  # logged; the next sweep tries again
                self._failures.failed("finding the notes whose authors are behind", error)
            if more:  # a backfill: on with the next notes at once
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_S)
            self._wake.clear()

    async def sweep(self) -> bool:
        """Bring level the notes :data:`LEVEL_ROWS` or more rows behind (a backfill); True
        when there may be more of them."""
        found = await asyncio.to_thread(behind, self._engine, LEVEL_ROWS, SWEEP_NOTES, self._after)
        # From where the last sweep stopped, so notes that stay behind (rows thinned away
        # before their runs were made) never keep the others waiting.
        more = len(found) == SWEEP_NOTES
        self._after = found[-1][0] if more else 0
        now = time.monotonic()
        found = [
            row
            for row in found
            if self._tried.get(row[0]) != row[1] or self._retry_at.get(row[0], now + 1) <= now
        ]
        if not found:
            return more
        started, rows = time.monotonic(), 0
        self._tried.update((note, head) for note, head, _mark in found)
        far = [note for note, head, mark in found if head - mark >= APART_ROWS]
        if far:
            url = self._engine.url.render_as_string(hide_password=False)
            try:
                rows += await run_apart(level_apart, url, far, STEP_ROWS)
                for note in far:
                    self._retry_at.pop(note, None)
            except Exception as error:  # logged; a sweep RETRY_S later tries them again
                self._failures.failed(f"bringing the authors of notes {far} up to date", error)
                self._retry_at.update((note, time.monotonic() + RETRY_S) for note in far)
        for note, head, mark in found:
            if head - mark < APART_ROWS:
                rows += await self._level(note)
        logger.info(
            "authors brought level: %d notes, %d log rows, in %.1f s",
            len(found),
            rows,
            time.monotonic() - started,
            extra={"notes": len(found), "rows": rows},
        )
        return more

    async def _level(self, note: int) -> int:
        """Fold the note's rows after its mark into its runs, a step at a time; rows read."""
        rows = 0
        while True:
            started = time.monotonic()
            try:
                read = await asyncio.to_thread(level, self._engine, note, STEP_ROWS)
            except Exception as error:  # logged; the route catches up by itself when asked
                self._failures.failed(f"bringing the authors of note {note} up to date", error)
                read = None
            rows += read or 0
            if read is None or read < STEP_ROWS:  # level, or another process is at it
                self.done += 1
                return rows
            await asyncio.sleep((time.monotonic() - started) * REST)


@asynccontextmanager
async def keeping_authors(engine: Engine) -> AsyncIterator[AuthorsKeeper]:
    """Run an :class:`AuthorsKeeper` for as long as the context is open."""
    keeper = AuthorsKeeper(engine)
    async with running(keeper.run, "keep authors"):
        yield keeper
