"""The SQL :class:`collab.persistence.DocumentStore`: a note's history, with group commit.

Reads happen on a thread of their own per call; every write goes through the
one writer thread (:mod:`storage.writer`), which commits what is queued in
batches. This module says what a batch does in SQL:

* appends take the next positions of their note's log (``note.head`` advances
  in the same transaction, so positions are dense and in commit order) and
  grow the note's current ``auto`` version, or start a new one
  (:mod:`storage.auto_versions` says when; a note's first content is a version of
  its own);
* checkpoints hold the whole document at a position, built from the log (a
  large note's in a process of its own: pycrdt holds the GIL, so a thread
  would stop the event loop for as long as the encode takes);
* ``named`` and ``before-restore`` versions mark the end of the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine

from collab.document import EMPTY_UPDATE, encode, merged_runs
from collab.persistence import Edit, EmptyCheckpointRefused, VersionMark
from storage import logreads
from storage.auto_versions import DEFAULT_VERSION_GAP_S, Grown, Sessions
from storage.indexing import IndexEntry, IndexStatements, write_entry
from storage.jobs import Append, Checkpoint, MarkVersion, RoomCheckpoint, WriteIndex
from storage.locks import try_note_lock
from storage.models import utcnow
from storage.sql import Statements
from storage.writer import Job, Writer

logger = logging.getLogger("storage.updates")


@dataclass(frozen=True, slots=True)
class Loaded:
    """A note as read from the database (the shape of collab's ``StoredDocument``)."""

    updates: tuple[bytes, ...]
    log_length: int
    head: int = 0
    checkpoint: int | None = None  # the position of the checkpoint it starts from


class SqlDocumentStore:
    """Load, append and checkpoint Yjs documents in SQL, with one writer thread.

    Use as an async context manager: entering starts the writer, leaving drains
    every queued write before it returns.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_fatal: Any = None,
        stop_timeout_s: float | None = None,
        version_gap_s: float = DEFAULT_VERSION_GAP_S,
        on_commit: Callable[[int], None] = lambda updates: None,
    ) -> None:
        """Store in ``engine``'s database; ``on_fatal(reason)`` runs if the writer stops.

        Leaving the store waits for queued writes, up to ``stop_timeout_s``. A
        pause in a note's editing of ``version_gap_s`` starts a new auto version.
        ``on_commit(updates)`` runs on the writer thread after each transaction
        that appended updates, with how many it appended (for metrics).
        """
        self.engine = engine
        self._stop_timeout_s = stop_timeout_s
        self._sql = Statements(engine.dialect)
        self._sessions = Sessions(self._sql, version_gap_s)  # on the writer thread only
        self._index_sql = IndexStatements(engine.dialect)
        self._on_commit = on_commit
        self._building: set[int] = set()  # notes whose checkpoint is being built
        self.writer: Writer[Job] = Writer(
            engine,
            self._run_batch,
            expected_errors=(self._sql.errors, EmptyCheckpointRefused, OSError),
            systemic_errors=(self._sql.database_errors, OSError),
            on_commit=self._committed,
            on_fatal=on_fatal or (lambda reason: None),
            survives_outages=engine.dialect.name != "sqlite",  # a server, not a file
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

    def append(self, note: int, edit: Edit) -> asyncio.Future[int]:
        """Queue an edit; the future resolves, once it is committed, to its position."""
        return self.writer.submit(Append(note, self.writer.new_future(), edit))

    def checkpoint(
        self, note: int, candidate: tuple[bytes, int] | None = None
    ) -> asyncio.Future[None]:
        """Write a checkpoint at the end of the note's log: ``candidate`` if the log ends at
        its position then, else one built from the log (see the protocol)."""
        future: asyncio.Future[None] = self.writer.new_future()
        if candidate is None:
            task = asyncio.ensure_future(self._checkpoint(note))
        else:  # queued now, right after the appends it holds
            state, position = candidate
            job = RoomCheckpoint(
                note=note, future=self.writer.new_future(), state=state, position=position
            )
            task = asyncio.ensure_future(self._checkpoint_unless(note, self.writer.submit(job)))
        task.add_done_callback(partial(_chain, future))
        return future

    def mark_version(self, note: int, kind: str, name: str | None) -> asyncio.Future[VersionMark]:
        """Record a version at the end of the note's log, after every append queued before."""
        future = self.writer.new_future()
        return self.writer.submit(
            MarkVersion(note=note, future=future, version_kind=kind, name=name)
        )

    def write_index(self, entries: list[IndexEntry]) -> asyncio.Future[None]:
        """Queue search index entries (:mod:`storage.search`) for the writer's next batch."""
        job = WriteIndex(note=entries[0].note, future=self.writer.new_future(), entries=entries)
        return self.writer.submit(job)

    async def read_log(self, note: int, after: int) -> list[tuple[int, bytes]]:
        """The note's logged updates after ``after``, up to its head (read first), in order."""
        return await asyncio.to_thread(self.read_log_sync, note, after)

    def read_log_sync(self, note: int, after: int) -> list[tuple[int, bytes]]:
        sql = self._sql
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            row = sql.run(cursor, sql.head_of, note=note).fetchone()
            head = row[0] if row else 0
            found = sql.run(cursor, sql.log_rows_after, note=note, after=after, upto=head)
            rows = [(int(position), bytes(data)) for position, data in found.fetchall()]
            cursor.close()
        finally:
            connection.close()
        return rows

    async def heads(self, notes: list[int]) -> dict[int, int]:
        """Each note's head, in one query (the periodic check of the open notes)."""
        if not notes:
            return {}
        return await asyncio.to_thread(logreads.heads, self.engine, notes)

    async def recent_log(self, note: int, within_s: float) -> list[tuple[str, bytes]]:
        """The note's updates committed in the last ``within_s`` seconds, with their authors.

        By the clock of the process that committed each (``committed_at``): the
        processes serving one database are expected to keep their clocks in step.
        """
        since = utcnow() - timedelta(seconds=within_s)
        return await asyncio.to_thread(logreads.recent_log, self.engine, note, since)

    async def load(self, note: int) -> Loaded:
        """The note's latest checkpoint merged with the updates logged after it."""
        return await asyncio.to_thread(self.load_sync, note)

    def load_sync(self, note: int, upto: int | None = None, *, merged: bool = True) -> Loaded:
        """:meth:`load` for a caller off the event loop; ``upto`` a past position instead.

        ``merged=False`` leaves the logged updates as they are (pycrdt holds the
        GIL while it merges: for whoever builds the document in a process of its own).

        The log is read up to the head read first, so appends committed
        meanwhile (another process's) cannot slip in out of order. Positions are
        dense, so a gap means old history was thinned between the two reads (a
        newer checkpoint now stands for it): it reads again.
        """
        for _ in range(3):
            loaded = self._read(note, upto, merged)
            if loaded.log_length == loaded.head - (loaded.checkpoint or 0):
                return loaded
        raise RuntimeError(f"note {note}: its log has a gap that does not close; run check")

    def _read(self, note: int, upto: int | None, merged: bool) -> Loaded:
        sql = self._sql
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if upto is None:
                row = sql.run(cursor, sql.head_of, note=note).fetchone()
                upto = row[0] if row else 0
            found = sql.run(cursor, sql.checkpoint_at_or_before, note=note, position=upto)
            checkpoint = found.fetchone()
            after = checkpoint[0] if checkpoint else 0
            rows = [
                bytes(data)
                for (data,) in sql.run(
                    cursor, sql.log_between, note=note, after=after, upto=upto
                ).fetchall()
            ]
            cursor.close()
        finally:
            connection.close()
        chunks = merged_runs(rows) if merged else rows
        base = (bytes(checkpoint[1]),) if checkpoint else ()
        return Loaded(base + tuple(chunks), len(rows), upto, checkpoint[0] if checkpoint else None)

    async def _checkpoint_unless(self, note: int, written: asyncio.Future[bool]) -> None:
        if not await written:  # the log holds more than the room's own edits
            await self._checkpoint(note)

    async def _checkpoint(self, note: int) -> None:
        """Build and write one, unless one of the note's is being built (it covers most).

        A large note's is built in a process of its own from its last checkpoint
        and the rows since: a hostile update of 900,000 items, logged as 56,000
        pieces, asked for one every 1,000 of them, and with each build taking
        longer than the last, up to the thread pool's six ran at once and took
        both cores from the server (the attacker's budget, counted in CPU, was
        still not spent after 120 s). The rows it leaves out are in the log.
        """
        if note in self._building:
            return
        self._building.add(note)
        try:
            position, state = await asyncio.to_thread(self._build_checkpoint, note)
        finally:
            self._building.discard(note)
        if position is None:
            return
        job = Checkpoint(note=note, future=self.writer.new_future(), state=state, position=position)
        await self.writer.submit(job)

    def _build_checkpoint(self, note: int) -> tuple[int | None, bytes]:
        with self.engine.connect() as connection, connection.begin():
            if not try_note_lock(connection, note):
                return None, b""  # another process is building it
            loaded = self.load_sync(note, merged=False)
            if loaded.checkpoint == loaded.head or loaded.head == 0:
                return None, b""  # nothing logged since the last checkpoint
            return loaded.head, encode(loaded.updates)  # a large note: in a process of its own

    # -- on the writer thread ----------------------------------------------------------

    def _run_batch(self, cursor: Any, batch: list[Job]) -> None:
        appends: dict[int, list[Append]] = {}
        now = utcnow()
        for job in batch:
            if type(job) is Append:  # a keystroke's job: one comparison, as a kind string was
                appends.setdefault(job.note, []).append(job)
                continue
            self._append_all(cursor, appends, now)  # what was queued before goes first
            appends = {}
            self._run(cursor, job, now)
        self._append_all(cursor, appends, now)

    def _run(self, cursor: Any, job: Job, now: datetime) -> None:
        """Any job but an append (:meth:`_run_batch` gathers those by note)."""
        match job:
            case Checkpoint():
                self._add_checkpoint(cursor, job.note, job.state, job.position, now)
            case RoomCheckpoint():
                self._add_room_checkpoint(cursor, job, now)
            case MarkVersion():
                self._mark_version(cursor, job, now)
            case WriteIndex():
                for entry in job.entries:
                    write_entry(cursor, self._index_sql, entry, now)
            case _:
                raise RuntimeError(f"the SQL store has no way to run a {type(job).__name__}")

    def _append_all(self, cursor: Any, appends: dict[int, list[Append]], now: datetime) -> None:
        sql = self._sql
        for note, jobs in appends.items():
            edits = [job.edit for job in jobs]
            head = sql.run(
                cursor,
                sql.advance_head,
                note=note,
                count=len(jobs),
                now=now,
                added=sum(edit.added for edit in edits),
                removed=sum(edit.removed for edit in edits),
            )
            row = head.fetchone()
            if row is None:
                raise self._sql.errors(f"note {note} does not exist")
            last, version, added, removed = row
            first = last - len(jobs) + 1
            rows = []
            for position, job in enumerate(jobs, start=first):
                edit = job.edit
                job.result = position
                rows.append(
                    sql.append.bind(
                        note=note,
                        position=position,
                        data=edit.update,
                        now=now,
                        author=edit.author,
                        added=edit.added,
                        removed=edit.removed,
                    )
                )
            cursor.executemany(sql.append.text, rows)
            grown = Grown(first, last, version, added, removed)
            self._sessions.grow(cursor, note, grown, edits, now)

    def _committed(self, batch: list[Job]) -> None:
        self._sessions.trim()
        appended = sum(isinstance(job, Append) for job in batch)
        if appended:
            self._on_commit(appended)

    def _add_checkpoint(
        self, cursor: Any, note: int, state: bytes, position: int, now: datetime
    ) -> None:
        if state == EMPTY_UPDATE and position:
            raise EmptyCheckpointRefused(f"note {note}: refusing an empty checkpoint")
        sql = self._sql
        sql.run(cursor, sql.add_checkpoint, note=note, position=position, data=state, now=now)

    def _add_room_checkpoint(self, cursor: Any, job: RoomCheckpoint, now: datetime) -> None:
        """A room's document as a checkpoint, if the log ends where the room's edits do."""
        row = self._sql.run(cursor, self._sql.head_of, note=job.note).fetchone()
        job.result = ends_there = row is not None and row[0] == job.position
        if ends_there:
            self._add_checkpoint(cursor, job.note, job.state, job.position, now)

    def _mark_version(self, cursor: Any, job: MarkVersion, now: datetime) -> None:
        sql = self._sql
        kind, name = job.version_kind, job.name
        row = sql.run(cursor, sql.head_of, note=job.note).fetchone()
        if row is None:
            raise self._sql.errors(f"note {job.note} does not exist")
        found = sql.run(
            cursor,
            sql.add_version,
            note=job.note,
            kind=kind,
            name=name,
            position=row[0],
            first=row[0],
            now=now,
            added=0,
            removed=0,
        )
        job.result = VersionMark(found.fetchone()[0], row[0])


def _chain(future: asyncio.Future[None], task: asyncio.Future[None]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif (error := task.exception()) is not None:
        future.set_exception(error)
    else:
        future.set_result(None)
