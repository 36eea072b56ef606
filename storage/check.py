"""Checking a SQLite database: SQLite's own integrity check, then every note.

Everything is read inside one read transaction, so the check sees one
consistent state even while a server writes (history thinned between reading a note's
checkpoint and its log would otherwise look like lost updates).

Storage knows nothing of Yjs documents, so the caller hands in two functions:
one that vets a note's stored updates before any of them reaches pycrdt (a
damaged row can hold bytes that crash it), and the function the server builds
a document with.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pycrdt import Doc
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from collab.document import text
from storage import file_retention, files
from storage.db import schema_revisions
from storage.indexing import split_title
from storage.models import as_utc, utcnow
from storage.retention import DEFAULT_HISTORY_DAYS
from storage.retention import cutoff_for as retention_cutoff
from storage.updates import SqlDocumentStore

MAX_INTEGRITY_ERRORS = 100
"""SQLite's integrity check stops after this many errors."""

BUSY_TIMEOUT_MS = 30_000
INDEX_BEHIND_BOUND = timedelta(seconds=10)
"""A note's search entry may lag its last commit this long (a server indexes within 2 s)."""

VetUpdates = Callable[[Sequence[tuple[str, bytes]]], str | None]
"""Given a note's stored updates as (label, bytes), in load order: what is wrong, or None."""

BuildDocument = Callable[[tuple[bytes, ...]], object]
"""Builds a document from what the store's ``load`` returns; raises if it cannot."""


class CheckRefused(RuntimeError):
    """The check could not start: the message says why."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: what it is about (the database, a table row, a note) and why."""

    subject: str
    reason: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.reason}"


@dataclass(slots=True)
class Report:
    """What the check found."""

    problems: list[Problem] = field(default_factory=list)
    notes_checked: int = 0
    notes_broken: int = 0
    index_problems: int = 0  # notes whose search index entry is behind or wrong
    integrity: str = "not checked"

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def check_sqlite(
    path: Path,
    *,
    vet: VetUpdates,
    build: BuildDocument,
    history_days: float = DEFAULT_HISTORY_DAYS,
) -> Report:
    """Check the SQLite database at ``path``: its pages, its schema, then every note.

    Args:
        path: The database file; it is not created if missing.
        vet: Vets a note's stored updates before they are handed to pycrdt.
        build: Builds a document from the store's load, as the server does.
        history_days: The server's ``--history-days``: a note's file that neither its
            text nor a version of this window names is reported (0: none is).

    Returns:
        A report listing each problem as a sentence that names what is wrong:
        the database, a table row, or a note by its id.

    Raises:
        CheckRefused: There is no database at ``path``, or it cannot be opened.
    """
    path = path.resolve()
    if not path.is_file():
        raise CheckRefused(f"there is no database at {path}")
    report = Report()
    with _read_transaction(path) as (connection, engine):
        _check_pages(connection, report)
        if _check_schema(connection, report):
            store = SqlDocumentStore(engine)
            broken = _check_notes(connection, store, report, vet, build)
            _check_files(connection, report)
            _check_unnamed_files(store, broken, history_days, report)
    return report


@contextmanager
def _read_transaction(path: Path) -> Iterator[tuple[sqlite3.Connection, Engine]]:
    """One connection in one read transaction, also behind an engine for the store."""
    try:
        connection = sqlite3.connect(
            f"file:{path}?mode=rw", uri=True, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.Error as error:
        raise CheckRefused(f"cannot open {path}: {error}") from None
    # The store's load takes a connection from the engine and gives it back; the
    # pool hands out this one connection and leaves its transaction open.
    engine = create_engine(
        "sqlite://", creator=lambda: connection, poolclass=StaticPool, pool_reset_on_return=None
    )
    try:
        engine.raw_connection().close()  # the engine's first connect, before the transaction
        connection.execute("BEGIN")
        yield connection, engine
    finally:
        engine.dispose()
        connection.close()


def _check_pages(connection: sqlite3.Connection, report: Report) -> None:
    pragma = f"PRAGMA integrity_check({MAX_INTEGRITY_ERRORS})"
    try:
        rows = [row[0] for row in connection.execute(pragma)]
    except sqlite3.DatabaseError as error:
        rows = [str(error)]
    report.integrity = "ok" if rows == ["ok"] else "failed"
    if rows != ["ok"]:
        # A row can hold several lines, under a header naming the schema.
        lines = [line for row in rows for line in row.splitlines() if not line.startswith("***")]
        report.problems += [Problem("database", line) for line in lines]


def _check_schema(connection: sqlite3.Connection, report: Report) -> bool:
    """Problems with the tables themselves; False when the notes cannot be read at all."""
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_schema")}
        revision = _revision(connection, tables)
        orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as error:
        report.problems.append(Problem("database", f"cannot read its tables: {error}"))
        return False
    if "note" not in tables:
        report.problems.append(Problem("database", "not a collab-notes database (no note)"))
        return False
    head, known = schema_revisions()
    if revision is not None and revision not in known:
        report.problems.append(
            Problem(
                "database",
                f"schema revision {revision} is newer than this collab-notes "
                f"({head}); check it with the collab-notes that wrote it",
            )
        )
        return False
    if revision != head:
        report.problems.append(
            Problem(
                "database",
                f"schema revision {revision or 'from before migrations'} is older than this "
                f"collab-notes ({head}); start the server once, or run collab-notes migrate",
            )
        )
        return False
    report.problems += [
        Problem(f"{table} row {rowid}", f"belongs to a missing {parent}")
        for table, rowid, parent, _ in orphans
    ]
    return True


def _check_files(connection: sqlite3.Connection, report: Report) -> None:
    try:
        report.problems += [Problem(subject, why) for subject, why in files.problems(connection)]
    except sqlite3.DatabaseError as error:
        report.problems.append(Problem("database", f"cannot read the files: {error}"))


def _check_unnamed_files(
    store: SqlDocumentStore, broken: set[int], history_days: float, report: Report
) -> None:
    """The notes' files the purge would collect: named by no text of the history window."""
    now = utcnow()
    cutoff = retention_cutoff(history_days, now)
    if cutoff is None:
        return
    try:
        due = file_retention.due(store.engine, cutoff)
    except sqlite3.DatabaseError as error:
        report.problems.append(Problem("database", f"cannot read the files: {error}"))
        return
    for note, found in sorted(due.items()):
        if note in broken:
            continue  # reported as a note that does not load
        try:
            judged = file_retention.judge(store, note, found, cutoff, now)
        except BaseException as error:  # yrs panics surface as pyo3's PanicException
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            why = f"cannot read the texts that name its files: {error!r}"
            report.problems.append(Problem(f"note {note}", why))
            continue
        for file in sorted(judged.unnamed):
            why = f"of note {note}, named by no text of its last {history_days:g} days"
            report.problems.append(Problem(f"file {file}", f"{why} (the next purge deletes it)"))


def _check_notes(
    connection: sqlite3.Connection,
    store: SqlDocumentStore,
    report: Report,
    vet: VetUpdates,
    build: BuildDocument,
) -> set[int]:
    """Check every note; returns those that do not load."""
    try:
        notes = [row[0] for row in connection.execute("SELECT id FROM note ORDER BY id")]
    except sqlite3.DatabaseError as error:
        report.problems.append(Problem("database", f"cannot list the notes: {error}"))
        return set()
    now = utcnow()
    broken = set()
    for note in notes:
        problem, built = _check_note(connection, store, note, vet, build)
        report.notes_checked += 1
        if problem is not None:
            report.notes_broken += 1
            broken.add(note)
            report.problems.append(Problem(f"note {note}", problem))
        else:
            problem = _check_index(
                connection, note, text(cast("Doc[Any]", built)), now
            )  # build's Doc
            if problem is not None:
                report.index_problems += 1
                report.problems.append(Problem(f"note {note}", problem))
    return broken


def _check_note(
    connection: sqlite3.Connection,
    store: SqlDocumentStore,
    note: int,
    vet: VetUpdates,
    build: BuildDocument,
) -> tuple[str | None, object]:
    """What is wrong with the note (None: nothing), and its document."""
    try:
        problem = vet(_stored_updates(connection, note))
        if problem is not None:
            return problem, None
        loaded = store.load_sync(note)
    except sqlite3.DatabaseError as error:
        return f"cannot be read: {error}", None
    try:
        return None, build(loaded.updates)
    except BaseException as error:  # yrs panics surface as pyo3's PanicException
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return f"does not load: {error!r}", None


def _check_index(
    connection: sqlite3.Connection, note: int, current: str, now: datetime
) -> str | None:
    """What is wrong with the note's search index entry: behind past the bound, or wrong."""
    head, updated_at, position, title, body = connection.execute(
        "SELECT note.head, note.updated_at, s.position, s.title, s.body FROM note"
        " LEFT JOIN search_note AS s ON s.note_id = note.id WHERE note.id = ?",
        (note,),
    ).fetchone()
    if position is None or position < head:
        if head == 0 or now - as_utc(updated_at) < INDEX_BEHIND_BOUND:
            return None  # nothing to index yet, or a server is about to
        indexed = "not indexed" if position is None else f"indexed up to update {position}"
        return f"search index behind: {indexed} of {head}; run collab-notes reindex"
    if position > head or (title, body) != split_title(current):
        return f"search index wrong at update {position}; run collab-notes reindex"
    return None


def _stored_updates(connection: sqlite3.Connection, note: int) -> list[tuple[str, bytes]]:
    """The note's latest checkpoint, then its log after it: what the store's load reads."""
    (head,) = connection.execute("SELECT head FROM note WHERE id = ?", (note,)).fetchone()
    checkpoint = connection.execute(
        "SELECT position, data FROM checkpoint WHERE note_id = ? AND position <= ? "
        "ORDER BY position DESC LIMIT 1",
        (note, head),
    ).fetchone()
    after = checkpoint[0] if checkpoint else 0
    updates = [(f"checkpoint at update {after}", bytes(checkpoint[1]))] if checkpoint else []
    log = connection.execute(
        "SELECT position, data FROM update_log WHERE note_id = ? AND position > ? "
        "AND position <= ? ORDER BY position",
        (note, after, head),
    )
    updates += [(f"update {position}", bytes(data)) for position, data in log]
    return updates


def _revision(connection: sqlite3.Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None
