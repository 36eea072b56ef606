"""An online copy of a SQLite database, taken while the server runs and people type.

The copy is one consistent snapshot: every transaction committed before the
snapshot was taken is in it, none committed after. It is made with SQLite's
backup API in steps, so a large database can report its progress, and the
steps all read inside one read transaction on the source.

That read transaction is what makes the steps work on a live database. Without
it each step reads the newest state, and the backup API restarts from the first
page whenever another connection has committed since the last step: with a
server committing every few milliseconds, a 100 MB copy in 256-page steps
restarted for as long as the writes went on (13,255 steps, finished only when
they stopped), where under one read transaction it took 99 steps and 0.4 s.
In WAL mode the server's commits do not wait for the reader; the WAL only
grows until the copy is done.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from storage.db import DatabaseInUse, exclusive_sqlite

PAGES_PER_STEP = 1024
"""Pages copied per step: 4 MiB with SQLite's default page size."""

BUSY_TIMEOUT_MS = 30_000

Progress = Callable[[int, int], None]
"""Called after each step with the pages copied so far and the pages in all."""


class BackupRefused(RuntimeError):
    """The backup was not started: the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What was copied."""

    dest: Path
    pages: int
    bytes: int
    notes: int


def backup_sqlite(
    source: Path,
    dest: Path,
    *,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy the SQLite database ``source`` to ``dest``, online and consistently.

    The copy is written next to ``dest`` under a temporary name, checked with
    ``PRAGMA quick_check``, synced to disk, and only then renamed to ``dest``,
    so ``dest`` is either the whole copy or untouched. The copy is a single
    file (rollback journal mode); a server started on it switches it to WAL.

    Args:
        source: The live database file.
        dest: Where the copy goes. Its folder must exist.
        force: Replace ``dest`` if it exists (never while a server serves it).
        pages_per_step: Pages copied per step of the backup API.
        progress: Told the pages copied so far and the total after each step.

    Returns:
        What was copied.

    Raises:
        BackupRefused: ``source`` is not there, ``dest`` exists without
            ``force``, is ``source`` itself, is served, or its folder is missing.
        sqlite3.Error, OSError: The copy failed; ``dest`` was not touched.
    """
    source, dest = source.resolve(), dest.resolve()
    _refuse_bad_paths(source, dest, force)
    partial = _new_private_file(dest)
    try:
        with _unserved(dest, replacing=force and dest.exists()):
            result = _copy(source, partial, pages_per_step, progress)
            _fsync(partial)
            if force:
                _remove_journal_files(dest)
            os.replace(partial, dest)
            _fsync(dest.parent)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(dest, result.pages, dest.stat().st_size, result.notes)


def _new_private_file(dest: Path) -> Path:
    """A new, empty file beside ``dest``, mode 0600, that nobody else created.

    The copy holds every note and every link. Its name was predictable (the pid),
    and SQLite opened whatever was there, a file someone else made or a symlink
    to one, and wrote the copy into it. ``mkstemp`` picks a random name and
    creates it with ``O_CREAT | O_EXCL`` (never through a symlink), mode 0600;
    the rename keeps that mode for ``dest``.
    """
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.partial-", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _refuse_bad_paths(source: Path, dest: Path, force: bool) -> None:
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source}")
    if dest == source:
        raise BackupRefused(f"{dest} is the database itself; name another file")
    if not dest.parent.is_dir():
        raise BackupRefused(f"the folder {dest.parent} does not exist")
    if dest.is_dir():
        raise BackupRefused(f"{dest} is a folder; name a file in it")
    if dest.exists() and not force:
        raise BackupRefused(f"{dest} already exists; use --force to replace it")


@contextlib.contextmanager
def _unserved(dest: Path, *, replacing: bool) -> Iterator[None]:
    """Hold the server's lock on a database that is about to be replaced."""
    if not replacing:
        yield
        return
    try:
        with exclusive_sqlite(f"sqlite:///{dest}"):
            yield
    except DatabaseInUse:
        raise BackupRefused(f"a collab-notes server is serving {dest}; stop it first") from None


@dataclass(frozen=True, slots=True)
class _Copied:
    pages: int
    notes: int


def _copy(source: Path, target: Path, pages_per_step: int, progress: Progress | None) -> _Copied:
    src = _connect(source)
    try:
        src.execute("BEGIN")
        notes = _count_notes(src)  # the first read fixes the snapshot every step copies
        dst = _connect(target)
        try:
            src.backup(dst, pages=pages_per_step, progress=_reporter(progress))
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
            dst.execute("PRAGMA journal_mode=DELETE")
            _quick_check(dst)
        finally:
            dst.close()
    finally:
        src.close()  # ends the read transaction
    return _Copied(pages, notes)


def _connect(path: Path) -> sqlite3.Connection:
    # mode=rw: never create a file (an empty source by mistake, or the copy's file,
    # which _new_private_file makes).
    connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def _reporter(progress: Progress | None) -> Callable[[int, int, int], None] | None:
    if progress is None:
        return None

    def report(_status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    return report


def _quick_check(connection: sqlite3.Connection) -> None:
    rows = [row[0] for row in connection.execute("PRAGMA quick_check(20)")]
    if rows != ["ok"]:
        raise sqlite3.DatabaseError("the copy fails SQLite's quick_check: " + "; ".join(rows))


def _count_notes(connection: sqlite3.Connection) -> int:
    try:
        return int(connection.execute("SELECT count(*) FROM note").fetchone()[0])
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        raise BackupRefused("this is not a collab-notes database: it has no note table") from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_journal_files(dest: Path) -> None:
    """A stale WAL beside the replaced file would be replayed into the copy."""
    for suffix in ("-wal", "-shm", "-journal"):
        dest.with_name(dest.name + suffix).unlink(missing_ok=True)
