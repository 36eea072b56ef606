"""Files uploaded to notes, stored in the database: bytes once, a row per note that has them.

``file_blob`` holds each distinct content once, keyed by the SHA-256 of its bytes
(the file's id); ``note_file`` says which notes have which file, under which name.
A note's links read only its own files (the row is the permission), so the same
bytes in two notes are two rows and one blob. A file is committed in one
transaction with its row: a crash leaves the whole file or nothing.

A note keeps a file while its text, or one of its versions inside the history
window, names it (``storage.file_retention``, which the purge runs); an upload, even
of a file the note has, counts as the note naming it, so a file is never collected
between its upload and the arrival of the Markdown that names it. Purging a note
removes its rows (ON DELETE CASCADE), and :func:`collect_blobs` then deletes the
blobs no note has any more.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, delete, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from storage.models import FileBlob, NoteFile, utcnow
from storage.sql import NOTE

BLOB = SQLModel.metadata.tables[FileBlob.__tablename__]
NOTE_FILE = SQLModel.metadata.tables[NoteFile.__tablename__]


class NoteFull(Exception):
    """The note's files would take more than the limit: ``stored`` bytes already."""

    def __init__(self, stored: int, limit: int) -> None:
        super().__init__(f"{stored} of {limit} bytes used")
        self.stored = stored
        self.limit = limit


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of a note, without its bytes."""

    id: str
    media_type: str
    size: int
    name: str


def file_id(data: bytes) -> str:
    """A file's id: the SHA-256 of its bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def add_file(
    *, session: Session, note_id: int, data: bytes, media_type: str, name: str, max_note_bytes: int
) -> StoredFile:
    """Give the note this file, storing its bytes unless some note has them already; commit.

    A file the note has already is answered as it is stored (under its first
    name), and counts as seen now. ``max_note_bytes`` (0: no limit) bounds the
    sizes of the note's files in all; past it, :class:`NoteFull` and nothing is written.
    """
    stored = StoredFile(file_id(data), media_type, len(data), name)
    connection = session.connection()
    now = utcnow()
    if _seen(connection, note_id, stored.id, now):
        found = file_of(connection, note_id, stored.id)
        if found is not None:
            session.commit()
            return found
    if max_note_bytes:
        total = _note_total(connection, note_id)
        if total + stored.size > max_note_bytes:
            raise NoteFull(total, max_note_bytes)
    blob = {"id": stored.id, "data": data, "media_type": media_type, "size": stored.size}
    connection.execute(_insert_new(connection, BLOB), {**blob, "created_at": now})
    row = {"note_id": note_id, "file_id": stored.id, "name": name, "size": stored.size}
    connection.execute(NOTE_FILE.insert(), {**row, "created_at": now, "seen_at": now})
    session.commit()
    return stored


def _seen(connection: Connection, note_id: int, file: str, now: datetime) -> bool:
    """Mark the note's file seen ``now``; False if the note has no such file.

    An UPDATE, not a read: a purge deleting the row meanwhile either waits for it
    and then finds the row seen (so keeps it), or deleted it first (so this is False
    and the upload stores the file again).
    """
    seen = update(NOTE_FILE).where(NOTE_FILE.c.note_id == note_id, NOTE_FILE.c.file_id == file)
    return bool(connection.execute(seen.values(seen_at=now)).rowcount)


def _insert_new(connection: Connection, table: Any) -> Any:
    """INSERT that leaves an existing row (same key) as it is."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=["id"])


def _note_total(connection: Connection, note_id: int) -> int:
    statement = select(func.coalesce(func.sum(NOTE_FILE.c.size), 0))
    return int(connection.execute(statement.where(NOTE_FILE.c.note_id == note_id)).scalar_one())


def file_of(connection: Connection, note_id: int, file: str) -> StoredFile | None:
    """The note's file ``file`` (its type, size and name), or None if the note has none such."""
    statement = (
        select(BLOB.c.media_type, NOTE_FILE.c.size, NOTE_FILE.c.name)
        .join(BLOB, BLOB.c.id == NOTE_FILE.c.file_id)
        .where(NOTE_FILE.c.note_id == note_id, NOTE_FILE.c.file_id == file)
    )
    row = connection.execute(statement).first()
    return None if row is None else StoredFile(file, row[0], int(row[1]), row[2])


_OF_LIVE_LINK = (  # the file ``file`` of the live note one of whose links is ``token``
    or_(
        NOTE.c.edit_token == bindparam("token"),
        NOTE.c.view_token == bindparam("token"),
        NOTE.c.comment_token == bindparam("token"),
    ),
    NOTE.c.deleted_at.is_(None),
    NOTE_FILE.c.file_id == bindparam("file"),
)
_NOTE_FILES = NOTE.join(NOTE_FILE, NOTE_FILE.c.note_id == NOTE.c.id)
_HELD = select(NOTE_FILE.c.size).select_from(_NOTE_FILES).where(*_OF_LIVE_LINK)
_READ_BY_TOKEN = (
    select(BLOB.c.media_type, NOTE_FILE.c.size, NOTE_FILE.c.name, BLOB.c.data)
    .select_from(_NOTE_FILES.join(BLOB, BLOB.c.id == NOTE_FILE.c.file_id))
    .where(*_OF_LIVE_LINK)
)


def held_by_token(connection: Connection, token: str, file: str) -> Literal[True] | None:
    """True if the live note one of whose links (edit, view, comment) is ``token`` has
    the file ``file``, else None: what a cached image's revalidation asks.

    One statement, built once (building it per call was 0.7 of a 304's 0.84 ms of
    CPU), that reads nothing of ``file_blob``: SQLite keeps a row's columns that
    come after a large BLOB beyond its overflow pages, so reading a 5 MB image's
    type walked 5 MB (7.2 ms of CPU per 304, against 2.1 for ``/healthz``).
    """
    found = connection.execute(_HELD, {"token": token, "file": file}).first()
    return None if found is None else True


def read_by_token(connection: Connection, token: str, file: str) -> tuple[StoredFile, bytes] | None:
    """The file ``file`` (type, size, name) and its bytes, of the live note one of whose
    links is ``token``, in one statement (a download); None if there is none such."""
    found = connection.execute(_READ_BY_TOKEN, {"token": token, "file": file}).first()
    if found is None:
        return None
    return StoredFile(file, found[0], int(found[1]), found[2]), bytes(found[3])


def named_files(
    connection: Connection, note_id: int, ids: set[str]
) -> dict[str, tuple[str, bytes]]:
    """Those of the files ``ids`` the note has: id -> (its name in the note, its bytes)."""
    statement = (
        select(NOTE_FILE.c.file_id, NOTE_FILE.c.name, BLOB.c.data)
        .join(BLOB, BLOB.c.id == NOTE_FILE.c.file_id)
        .where(NOTE_FILE.c.note_id == note_id, NOTE_FILE.c.file_id.in_(ids))
    )
    return {file: (name, bytes(data)) for file, name, data in connection.execute(statement)}


def named(markdown: str, files: set[str]) -> set[str]:
    """Those of ``files`` (ids, lower case) whose id ``markdown`` holds, in either case.

    A substring search: 0.1 ms for 100,000 characters, where a regular expression for
    runs of exactly 64 hex digits took 8.9 ms. An id inside a longer run of hex digits
    counts too: reading more references than there are never loses a file.
    """
    lowered = markdown.lower()
    return {file for file in files if file in lowered}


def share_files(connection: Connection, source: int, target: int, text: str) -> int:
    """Give note ``target`` the files of note ``source`` that ``text`` names: a note made
    from a template names the template's files, and a file is read only through a note
    that has it. The bytes are shared; the rows are the new note's own, seen now.
    Returns how many."""
    held = select(NOTE_FILE.c.file_id).where(NOTE_FILE.c.note_id == source)
    ids = named(text, {str(file) for file in connection.execute(held).scalars()})
    if not ids:
        return 0
    now = utcnow()
    copied = select(
        literal(target),
        NOTE_FILE.c.file_id,
        NOTE_FILE.c.name,
        NOTE_FILE.c.size,
        literal(now, NOTE_FILE.c.created_at.type),
        literal(now, NOTE_FILE.c.seen_at.type),
    ).where(NOTE_FILE.c.note_id == source, NOTE_FILE.c.file_id.in_(sorted(ids)))
    columns = ["note_id", "file_id", "name", "size", "created_at", "seen_at"]
    connection.execute(NOTE_FILE.insert().from_select(columns, copied))
    return len(ids)


def collect_blobs(*, session: Session) -> int:
    """Delete the blobs no note has any more (after a purge); commits, returns how many."""
    unused = ~exists().where(NOTE_FILE.c.file_id == BLOB.c.id)
    deleted = session.connection().execute(delete(BLOB).where(unused))
    session.commit()
    return int(deleted.rowcount or 0)


def problems(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    """What is wrong with the stored files, as (subject, reason), read on a SQLite connection.

    A blob no note has (a purge deletes it), and a blob whose bytes are not what its id
    says. A note's row without its blob is found by SQLite's foreign key check.
    """
    found = []
    unused = connection.execute(
        "SELECT id FROM file_blob WHERE NOT EXISTS"
        " (SELECT 1 FROM note_file WHERE note_file.file_id = file_blob.id)"
    )
    found += [(f"file {blob}", "no note has it (the next purge deletes it)") for (blob,) in unused]
    for blob, data, size in connection.execute("SELECT id, data, size FROM file_blob"):
        if file_id(bytes(data)) != blob or len(data) != size:
            found.append((f"file {blob}", "its bytes are not those it was stored with"))
    return found
