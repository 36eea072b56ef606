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
import time
from dataclasses import dataclass, field
from typing import Any

import pycrdt
from sqlalchemy import Dialect, Engine, bindparam, delete, func, insert, select, update
from sqlmodel import SQLModel

from storage.models import Note, Snapshot, UpdateLog, utcnow

# The writer works on the tables through SQLAlchemy Core: no ORM objects per update.
LOG = SQLModel.metadata.tables[UpdateLog.__tablename__]
SNAPSHOT = SQLModel.metadata.tables[str(Snapshot.__tablename__)]
NOTE = SQLModel.metadata.tables[str(Note.__tablename__)]

logger = logging.getLogger("storage.updates")

EMPTY_UPDATE = b"\x00\x00"
MAX_BATCH = 2000
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
        self._touched: dict[int, float] = {}  # note -> when the writer last set its updated_at
        self._sql = _Sql(engine.dialect)
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
        chunks = [_merge(rows[i : i + MERGE_CHUNK]) for i in range(0, len(rows), MERGE_CHUNK)]
        return Loaded(((bytes(snapshot[1]),) if snapshot else ()) + tuple(chunks), len(rows))

    # -- the writer thread -----------------------------------------------------------

    def _run(self) -> None:
        self._connection = self.engine.raw_connection()
        try:
            stopping = False
            while not stopping:
                batch, stopping = self._take_batch()
                self.paused.wait()
                if batch:
                    self._write(batch)
        finally:
            self._connection.close()
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
        except (self._sql.errors, EmptySnapshotRefused, OSError) as error:
            self._roll_back()
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
        cursor = self._connection.cursor()
        try:
            appends: list[_Job] = []
            for job in batch:
                if job.compact:
                    self._insert(cursor, appends)
                    appends = []
                    self._compact(cursor, job)
                else:
                    appends.append(job)
            self._insert(cursor, appends)
            touched = self._touch(cursor, batch)
        finally:
            cursor.close()
        self._connection.commit()
        self.commits += 1
        self._remember_touched(touched)

    def _roll_back(self) -> None:
        try:
            self._connection.rollback()
        except self._sql.errors:
            # The connection itself is broken: start the next batch on a new one.
            self._connection.invalidate()
            self._connection = self.engine.raw_connection()

    def _insert(self, cursor: Any, jobs: list[_Job]) -> None:
        if jobs:
            sql = self._sql
            cursor.executemany(
                sql.append.text, [sql.append.bind(note=job.note, data=job.data) for job in jobs]
            )

    def _compact(self, cursor: Any, job: _Job) -> None:
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

    def _touch(self, cursor: Any, batch: list[_Job]) -> set[int]:
        due = time.monotonic() - TOUCH_EVERY_S
        notes = {
            job.note for job in batch if job.compact or self._touched.get(job.note, due) <= due
        }
        if notes:
            touch, now = self._sql.touch, utcnow()
            cursor.executemany(touch.text, [touch.bind(note=note, now=now) for note in notes])
        return notes

    def _remember_touched(self, notes: set[int]) -> None:
        now = time.monotonic()
        if len(self._touched) > 10_000:  # forget notes no longer edited
            self._touched = {
                note: at for note, at in self._touched.items() if at > now - TOUCH_EVERY_S
            }
        self._touched.update(dict.fromkeys(notes, now))

    def _resolve(self, batch: list[_Job]) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(_settle, batch)
        except RuntimeError:
            logger.warning("event loop closed before %d writes were acknowledged", len(batch))


@dataclass(frozen=True, slots=True)
class _Statement:
    """A Core statement compiled once for one dialect, to run on a DBAPI cursor."""

    text: str
    order: tuple[str, ...] | None  # parameter names, for drivers with positional parameters
    processors: dict[str, Any]  # name -> the column type's bind processor (datetimes, bytes)

    @classmethod
    def compile(cls, statement: Any, dialect: Dialect) -> _Statement:
        compiled = statement.compile(dialect=dialect)
        processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        order = tuple(compiled.positiontup) if compiled.positional else None
        return cls(str(compiled), order, processors)

    def bind(self, **values: Any) -> Any:
        """The parameters in the shape the driver takes: a tuple or a dict."""
        for name, processor in self.processors.items():
            values[name] = processor(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class _Sql:
    """Every statement the store runs, compiled from the SQLModel tables.

    They run on the engine's raw DBAPI connections: per statement, SQLAlchemy's
    execution machinery (cache keys, parameter processing, result setup) took
    the writer thread more time than SQLite did, time spent holding the GIL the
    event loop needs; and reading a 100,000-update log took a third longer.
    """

    def __init__(self, dialect: Dialect) -> None:
        note: Any = bindparam("note")
        upto: Any = bindparam("upto")
        data: Any = bindparam("data")
        now: Any = bindparam("now", type_=SNAPSHOT.c.created_at.type)
        self.errors: type[Exception] = dialect.loaded_dbapi.Error
        self.append = _Statement.compile(insert(LOG).values(note_id=note, data=data), dialect)
        self.touch = _Statement.compile(
            update(NOTE).where(NOTE.c.id == note).values(updated_at=now), dialect
        )
        self.last_seq = _Statement.compile(
            select(func.max(LOG.c.seq)).where(LOG.c.note_id == note), dialect
        )
        after: Any = bindparam("after")
        self.snapshot_of = _Statement.compile(
            select(SNAPSHOT.c.upto_seq, SNAPSHOT.c.data).where(SNAPSHOT.c.note_id == note), dialect
        )
        self.log_after = _Statement.compile(
            select(LOG.c.data).where(LOG.c.note_id == note, LOG.c.seq > after).order_by(LOG.c.seq),
            dialect,
        )
        self.drop_snapshot = _Statement.compile(
            delete(SNAPSHOT).where(SNAPSHOT.c.note_id == note), dialect
        )
        self.snapshot = _Statement.compile(
            insert(SNAPSHOT).values(note_id=note, upto_seq=upto, data=data, created_at=now), dialect
        )
        self.drop_log = _Statement.compile(
            delete(LOG).where(LOG.c.note_id == note, LOG.c.seq <= upto), dialect
        )

    @staticmethod
    def run(cursor: Any, statement: _Statement, **values: Any) -> Any:
        cursor.execute(statement.text, statement.bind(**values))
        return cursor


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
