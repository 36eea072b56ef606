"""The SQL :class:`collab.persistence.DocumentStore`: an update log with group commit.

One writer thread owns every write. The event loop hands it jobs through a queue
and gets back a future per job; the thread takes every job waiting, writes them
in one transaction, commits (one disk sync for the whole batch, across every
room), then resolves the futures in order. While it syncs, the next batch
gathers, so the more edits arrive, the more each commit carries.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import pycrdt
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from storage.models import Note, Snapshot, UpdateLog, utcnow

# The writer works on the tables through SQLAlchemy Core: no ORM objects per update.
LOG = SQLModel.metadata.tables[UpdateLog.__tablename__]
SNAPSHOT = SQLModel.metadata.tables[str(Snapshot.__tablename__)]
NOTE = SQLModel.metadata.tables[str(Note.__tablename__)]

logger = logging.getLogger("storage.updates")

EMPTY_UPDATE = b"\x00\x00"
MAX_BATCH = 2000
MERGE_CHUNK = 100
"""Logged updates merged per chunk on load: fewer, smaller applies than either
one apply per update or a single merged update (see ``collab.document.build``)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A note as read from the database (the shape of collab's ``StoredDocument``)."""

    updates: tuple[bytes, ...]
    log_length: int


class EmptySnapshotRefused(RuntimeError):
    """A compaction tried to store an empty document over stored content."""


@dataclass(slots=True)
class _Job:
    note: int
    data: bytes
    future: asyncio.Future[None]
    compact: bool = False
    error: BaseException | None = field(default=None)


_STOP = object()


class SqlDocumentStore:
    """Load, append and compact Yjs documents in SQL, with one writer thread.

    Use as an async context manager: entering starts the writer, leaving drains
    every queued write before it returns.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0
        self.paused = threading.Event()
        self.paused.set()  # cleared = the writer holds off (tests prove "saved" waits for disk)

    async def __aenter__(self) -> SqlDocumentStore:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="collab-notes writer", daemon=True)
        self._thread.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._queue.put(_STOP)
        assert self._thread is not None
        await asyncio.to_thread(self._thread.join)

    # -- the loop's side --------------------------------------------------------------

    def append(self, note: int, update: bytes) -> asyncio.Future[None]:
        """Queue an update; the future resolves once it is committed."""
        return self._submit(_Job(note, update, self._new_future()))

    def compact(self, note: int, snapshot: bytes) -> asyncio.Future[None]:
        """Queue a compaction of everything appended for the note so far."""
        return self._submit(_Job(note, snapshot, self._new_future(), compact=True))

    async def load(self, note: int) -> Loaded:
        """The note's latest snapshot merged with the updates logged after it."""
        return await asyncio.to_thread(self.load_sync, note)

    def _new_future(self) -> asyncio.Future[None]:
        if self._loop is None:
            raise RuntimeError("enter the SqlDocumentStore (async with) before writing to it")
        return self._loop.create_future()

    def _submit(self, job: _Job) -> asyncio.Future[None]:
        self._queue.put(job)
        return job.future

    def load_sync(self, note: int) -> Loaded:
        """:meth:`load` for a caller off the event loop."""
        with self.engine.connect() as connection:
            snapshot = connection.execute(
                select(SNAPSHOT.c.upto_seq, SNAPSHOT.c.data).where(SNAPSHOT.c.note_id == note)
            ).first()
            after = snapshot.upto_seq if snapshot else 0
            rows = connection.execute(
                select(LOG.c.data)
                .where(LOG.c.note_id == note, LOG.c.seq > after)
                .order_by(LOG.c.seq)
            ).scalars().all()
        chunks = [_merge(rows[i : i + MERGE_CHUNK]) for i in range(0, len(rows), MERGE_CHUNK)]
        return Loaded(((snapshot.data,) if snapshot else ()) + tuple(chunks), len(rows))

    # -- the writer thread -----------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._take_batch()
            self.paused.wait()
            if batch:
                self._write(batch)
        logger.info("writer stopped after %d commits", self.commits)

    def _take_batch(self) -> tuple[list[_Job], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch: list[_Job] = [first]  # type: ignore[list-item]
        while len(batch) < MAX_BATCH:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return batch, True
            batch.append(job)  # type: ignore[arg-type]
        return batch, False

    def _write(self, batch: list[_Job]) -> None:
        try:
            self._commit(batch)
        except (SQLAlchemyError, EmptySnapshotRefused, OSError) as error:
            if len(batch) == 1:
                batch[0].error = error
                logger.error("write for note=%s failed: %r", batch[0].note, error)
            else:
                # Find the culprit: one bad job must not fail the other rooms' edits.
                for job in batch:
                    self._write([job])
                return
        self._resolve(batch)

    def _commit(self, batch: list[_Job]) -> None:
        with self.engine.begin() as connection:
            appends: list[_Job] = []
            for job in batch:
                if job.compact:
                    self._insert(connection, appends)
                    appends = []
                    self._compact(connection, job)
                else:
                    appends.append(job)
            self._insert(connection, appends)
            self._touch(connection, {job.note for job in batch})
        self.commits += 1

    def _insert(self, connection: Connection, jobs: list[_Job]) -> None:
        if jobs:
            rows = [{"note_id": job.note, "data": job.data} for job in jobs]
            connection.execute(insert(LOG), rows)

    def _compact(self, connection: Connection, job: _Job) -> None:
        upto = connection.execute(
            select(func.max(LOG.c.seq)).where(LOG.c.note_id == job.note)
        ).scalar()
        if job.data == EMPTY_UPDATE and self._has_content(connection, job.note, upto):
            raise EmptySnapshotRefused(f"note {job.note}: refusing to store an empty snapshot")
        if upto is None:
            return  # nothing logged since the last snapshot
        connection.execute(delete(SNAPSHOT).where(SNAPSHOT.c.note_id == job.note))
        connection.execute(insert(SNAPSHOT).values(note_id=job.note, upto_seq=upto, data=job.data))
        connection.execute(delete(LOG).where(LOG.c.note_id == job.note, LOG.c.seq <= upto))

    def _has_content(self, connection: Connection, note: int, upto: Any) -> bool:
        snapshot = connection.execute(
            select(SNAPSHOT.c.note_id).where(SNAPSHOT.c.note_id == note)
        ).first()
        return upto is not None or snapshot is not None

    def _touch(self, connection: Connection, notes: set[int]) -> None:
        connection.execute(update(NOTE).where(NOTE.c.id.in_(notes)).values(updated_at=utcnow()))

    def _resolve(self, batch: list[_Job]) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(_settle, batch)
        except RuntimeError:
            logger.warning("event loop closed before %d writes were acknowledged", len(batch))


def _merge(updates: Any) -> bytes:
    return bytes(updates[0]) if len(updates) == 1 else pycrdt.merge_updates(*updates)


def _settle(batch: list[_Job]) -> None:
    for job in batch:
        if job.future.done():
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(None)
