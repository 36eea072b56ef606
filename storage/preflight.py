"""What a server checks before it opens a SQLite database: nothing that would silently lose notes.

SQLite itself answers a damaged file with an error only when it reads the damaged
part, and two kinds of damage are silent:

* a zero-byte file is a valid, empty database: the server would create its tables
  and serve an empty store where the operator expected notes;
* a WAL whose frame fails its checksum ends there: SQLite replays the frames before
  it and silently drops every transaction after it, committed or not.

So before serving, the file must not be empty, must start with SQLite's header and
have readable tables, and its WAL must have no frame that fails its checksum while a later, intact
frame commits a transaction. Each refusal is one sentence that says what to
do. Reading is all this does: a refused database is left exactly as it was.

Before any of that, and before the lock file beside it is opened, the path itself
must be one a server can write at: not a directory, under directories (not a file),
on a file system mounted read-write (:func:`check_location`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
WAL_MAGIC = {0x377F0682: "<", 0x377F0683: ">"}  # the byte order of the WAL's checksums
WAL_HEADER_BYTES = 32
FRAME_HEADER_BYTES = 24


FULL_BELOW_BYTES = 16 * 1024 * 1024
"""A disk with less free space than this, where SQLite says it could not write, is full."""
FULL_DISK_ERRORS = {"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_WRITE"}
"""What SQLite answers when it cannot grow a file. Opening a WAL database whose
``-shm`` index is gone (a clean stop deletes it) must write that 32 KB index first:
on a full disk that fails as ``SQLITE_IOERR_SHMSIZE``, "disk I/O error"."""


class DatabaseUnusable(RuntimeError):
    """The database cannot be served as it is; the message says why and what to do."""


def check_location(path: Path) -> None:
    """Refuse a database path at which no server could ever write.

    A missing file or missing directories pass (they are created on first start).

    Raises:
        DatabaseUnusable: ``path`` is a directory, one of its parents is a file, or
            the directory that holds it is on a read-only file system.
    """
    if path.is_dir():
        raise DatabaseUnusable(
            f"{path} is a directory, not a database file; point --database-url at a file "
            "(a new one is created where there is none)"
        )
    existing = next(parent for parent in path.parents if parent.exists())
    if not existing.is_dir():
        raise DatabaseUnusable(
            f"{existing} is a file, not a directory, so {path} cannot be in it; "
            "point --database-url at a file in a directory"
        )
    if os.statvfs(existing).f_flag & os.ST_RDONLY:
        raise DatabaseUnusable(
            f"{existing} is on a read-only file system, and a server writes beside its "
            "database (the WAL, the lock file); mount it read-write, or copy the database "
            "to a writable disk"
        )


def check_before_serving(path: Path) -> None:
    """Refuse a SQLite database that would be served wrongly or lose notes silently.

    Args:
        path: The database file. A missing file passes: it is created on first start.

    Raises:
        DatabaseUnusable: The file is empty, not SQLite, unreadable, or its WAL is damaged.
    """
    if not path.exists():
        return
    wal = path.with_name(path.name + "-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    if path.stat().st_size == 0 and wal_bytes == 0:
        raise DatabaseUnusable(
            f"{path} is empty (0 bytes) and holds no notes; a new database is created only "
            "where there is no file: delete it to start afresh, or restore a backup"
        )
    _check_header(path)
    if wal_bytes:
        _check_wal(wal)
    _check_tables(path)


def _check_header(path: Path) -> None:
    with open(path, "rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise DatabaseUnusable(
            f"{path} is not a SQLite database (its first bytes are {header[:16]!r}); "
            "point --database-url at the right file, or restore a backup"
        )


def _check_tables(path: Path) -> None:
    try:
        # Read-only: closing it must not checkpoint the WAL (a write) as a last connection would.
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise DatabaseUnusable(f"{path} cannot be opened: {error}") from None
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        connection.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as error:
        if full_disk(error, path) is not None and _tables_readable_in_place(path):
            return  # intact; the server serves it on the full disk (storage.db.serving_engine)
        raise DatabaseUnusable(
            f"{path} is damaged ({error}); run `collab-notes check` to see what is wrong, "
            "and restore a backup"
        ) from None
    finally:
        connection.close()


def full_disk(error: sqlite3.Error, path: Path) -> str | None:
    """Why ``error`` is a full disk rather than damage ("the disk holding ... is full"), or None."""
    if getattr(error, "sqlite_errorname", None) not in FULL_DISK_ERRORS:
        return None
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if free >= FULL_BELOW_BYTES:
        return None
    return f"the disk holding {path} is full ({free // 1024} KB free)"


def _tables_readable_in_place(path: Path) -> bool:
    """Whether SQLite reads the schema without writing anything (not even its -shm index)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        return True
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()


@dataclass(frozen=True, slots=True)
class _Frame:
    index: int  # from 1, as SQLite counts them
    salts_match: bool
    intact: bool  # its checksum holds, counted on from the frame before it
    commits: bool


def _check_wal(wal: Path) -> None:
    data = wal.read_bytes()
    frames = list(_frames(data))
    broken = next((f for f in frames if f.salts_match and not f.intact), None)
    if broken is None:
        return
    later = [f for f in frames[broken.index :] if f.salts_match and f.intact and f.commits]
    if later:
        raise DatabaseUnusable(
            f"{wal} is damaged: frame {broken.index} fails its checksum, so SQLite would "
            f"silently drop it and the {len(later)} committed transaction(s) after it. Nothing "
            "was opened. Keep a copy of the database and this file; to serve what was saved "
            "before the damage, move this file aside and start again"
        )


def _frames(data: bytes) -> Iterator[_Frame]:
    """Every whole frame of a WAL file, each checked on its own."""
    if len(data) < WAL_HEADER_BYTES:
        return
    magic, _version, page_size, _seq, salt1, salt2, sum1, sum2 = struct.unpack(
        ">8I", data[:WAL_HEADER_BYTES]
    )
    order = WAL_MAGIC.get(magic)
    if order is None or _checksum(order, data[:24], (0, 0)) != (sum1, sum2):
        return  # not a WAL SQLite would replay at all: it ignores the whole file
    previous = (sum1, sum2)
    size = FRAME_HEADER_BYTES + page_size
    for index, at in enumerate(range(WAL_HEADER_BYTES, len(data) - size + 1, size), start=1):
        _page, commit, s1, s2, c1, c2 = struct.unpack(">6I", data[at : at + FRAME_HEADER_BYTES])
        body = data[at : at + 8] + data[at + FRAME_HEADER_BYTES : at + size]
        intact = _checksum(order, body, previous) == (c1, c2)
        yield _Frame(index, (s1, s2) == (salt1, salt2), intact, commit != 0)
        previous = (c1, c2)


def _checksum(order: str, data: bytes, start: tuple[int, int]) -> tuple[int, int]:
    """SQLite's WAL checksum of ``data`` (a multiple of 8 bytes), continuing from ``start``."""
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    s0, s1 = start
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1
