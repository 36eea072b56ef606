"""The SQL :class:`collab.persistence.DocumentStore`: an update log with group commit.

Reads happen on a thread of their own per call; every write goes through the
one writer thread (:mod:`storage.writer`), which commits what is queued in
batches. This module says what a batch does in SQL: append updates, fold a
note's log into a snapshot, keep ``updated_at`` roughly current.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from collab.document import EMPTY_UPDATE, merge
from collab.persistence import EmptySnapshotRefused
from storage.models import utcnow
from storage.sql import Statements
from storage.writer import Job, Writer

logger = logging.getLogger("storage.updates")

TOUCH_EVERY_S = 1.0
"""A note's ``updated_at`` is rewritten at most this often while it is edited,
and at every compaction (rooms compact as they close): one row less for most
commits to write and sync."""
MERGE_CHUNK = 100
"""Logged updates merged per chunk on load: fewer, smaller applies than either
one apply per update or a single merged update (see ``collab.document.build``)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A note as read from the database (the shape of collab's ``StoredDocument``)."""

    updates: tuple[bytes, ...]
    log_length: int


class SqlDocumentStore:
    """Load, append and compact Yjs documents in SQL, with one writer thread.

    Use as an async context manager: entering starts the writer, leaving drains
    every queued write before it returns.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_fatal: Any = None,
        stop_timeout_s: float | None = None,
        on_commit: Callable[[int], None] = lambda updates: None,
    ) -> None:
        """Store in ``engine``'s database; ``on_fatal(reason)`` runs if the writer stops.

        Leaving the store waits for queued writes, up to ``stop_timeout_s``.
        ``on_commit(updates)`` runs on the writer thread after each transaction
        that appended updates, with how many it appended (for metrics).
        """
        self.engine = engine
        self._stop_timeout_s = stop_timeout_s
        self._sql = Statements(engine.dialect)
        self._touched: dict[int, float] = {}  # note -> when the writer last set its updated_at
        self._on_commit = on_commit
        self.writer: Writer[Job] = Writer(
            engine,
            self._run_batch,
            expected_errors=(self._sql.errors, EmptySnapshotRefused, OSError),
            systemic_errors=(engine.dialect.loaded_dbapi.OperationalError, OSError),
            on_commit=self._committed,
            on_fatal=on_fatal or (lambda reason: None),
        )

    async def __aenter__(self) -> SqlDocumentStore:
        self.writer.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.writer.stop(self._stop_timeout_s)

    @property
    def commits(self) -> int:
        """Transactions the writer committed so far."""
        return self.writer.commits

    @property
    def failure(self) -> str | None:
        """Why the writer stopped for good, or None while it runs."""
        return self.writer.failure

    # -- the loop's side --------------------------------------------------------------

    def append(self, note: int, update: bytes) -> asyncio.Future[None]:
        """Queue an update; the future resolves once it is committed."""
        return self.writer.submit(Job(note, update, self.writer.new_future()))

    def compact(self, note: int, snapshot: bytes) -> asyncio.Future[None]:
        """Queue a compaction of everything appended for the note so far."""
        return self.writer.submit(Job(note, snapshot, self.writer.new_future(), kind="compact"))

    async def load(self, note: int) -> Loaded:
        """The note's latest snapshot merged with the updates logged after it."""
        return await asyncio.to_thread(self.load_sync, note)

    def load_sync(self, note: int) -> Loaded:
        """:meth:`load` for a caller off the event loop.

        No compaction of the note runs meanwhile: a note is loaded only while no
        room of it is open, and a room closes only once its writes are committed.
        """
        sql = self._sql
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            snapshot = sql.run(cursor, sql.snapshot_of, note=note).fetchone()
            after = snapshot[0] if snapshot else 0
            rows = [
                bytes(data)
                for (data,) in sql.run(cursor, sql.log_after, note=note, after=after).fetchall()
            ]
            cursor.close()
        finally:
            connection.close()
        chunks = [merge(rows[i : i + MERGE_CHUNK]) for i in range(0, len(rows), MERGE_CHUNK)]
        return Loaded(((bytes(snapshot[1]),) if snapshot else ()) + tuple(chunks), len(rows))

    # -- on the writer thread ----------------------------------------------------------

    def _run_batch(self, cursor: Any, batch: list[Job]) -> None:
        appends: list[Job] = []
        for job in batch:
            if job.kind == "compact":
                self._insert(cursor, appends)
                appends = []
                self._compact(cursor, job)
            else:
                appends.append(job)
        self._insert(cursor, appends)
        self._touch(cursor, batch)

    def _insert(self, cursor: Any, jobs: list[Job]) -> None:
        if jobs:
            sql = self._sql
            cursor.executemany(
                sql.append.text, [sql.append.bind(note=job.note, data=job.data) for job in jobs]
            )

    def _compact(self, cursor: Any, job: Job) -> None:
        sql = self._sql
        upto = sql.run(cursor, sql.last_seq, note=job.note).fetchone()[0]
        if job.data == EMPTY_UPDATE and (
            upto is not None or sql.run(cursor, sql.snapshot_of, note=job.note).fetchone()
        ):
            raise EmptySnapshotRefused(f"note {job.note}: refusing to store an empty snapshot")
        if upto is None:
            return  # nothing logged since the last snapshot
        sql.run(cursor, sql.drop_snapshot, note=job.note)
        sql.run(cursor, sql.snapshot, note=job.note, upto=upto, data=job.data, now=utcnow())
        sql.run(cursor, sql.drop_log, note=job.note, upto=upto)

    def _touch(self, cursor: Any, batch: list[Job]) -> None:
        due = time.monotonic() - TOUCH_EVERY_S
        notes = {
            job.note
            for job in batch
            if job.kind == "compact" or self._touched.get(job.note, due) <= due
        }
        if notes:
            touch, now = self._sql.touch, utcnow()
            cursor.executemany(touch.text, [touch.bind(note=note, now=now) for note in notes])

    def _committed(self, batch: list[Job]) -> None:
        self._remember_touched(batch)
        appended = sum(job.kind == "append" for job in batch)
        if appended:
            self._on_commit(appended)

    def _remember_touched(self, batch: list[Job]) -> None:
        now = time.monotonic()
        if len(self._touched) > 10_000:  # forget notes no longer edited
            self._touched = {
                note: at for note, at in self._touched.items() if at > now - TOUCH_EVERY_S
            }
        due = now - TOUCH_EVERY_S
        for job in batch:
            if job.kind == "compact" or self._touched.get(job.note, due) <= due:
                self._touched[job.note] = now
