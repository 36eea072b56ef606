"""Real SQLite databases of notes for the backup and check tests, built and damaged on disk."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from collab import document
from storage.db import create_schema, make_engine
from storage.notes import create_note


def notes_database(path: Path, texts: list[str]) -> list[int]:
    """A database holding one note per text, as the REST side creates them; their ids."""
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    ids = []
    with Session(engine) as session:
        for text in texts:
            note = create_note(session=session, initial_update=document.initial_update(text))
            assert note.id is not None
            ids.append(note.id)
    engine.dispose()
    return ids


def append_raw(path: Path, note: int, data: bytes) -> int:
    """Store bytes in a note's update log behind the server's back; their position."""
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "UPDATE note SET head = head + 1 WHERE id = ? RETURNING head", (note,)
        ).fetchone()
        head = row[0] if row else 1  # no such note: an orphan row
        connection.execute(
            "INSERT INTO update_log (note_id, position, data, committed_at, added, removed) "
            "VALUES (?, ?, ?, '2026-01-01 00:00:00', 0, 0)",
            (note, head, data),
        )
    connection.close()
    return int(head)


def scramble_page_of(path: Path, index: str) -> int:
    """Flip the bits of the second half of the root page of an index; its page number.

    The database is first folded into one file, so the page on disk is the page read.
    """
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        root = connection.execute(
            "SELECT rootpage FROM sqlite_schema WHERE name = ?", (index,)
        ).fetchone()[0]
    connection.close()
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size + page_size // 2)
        half = file.read(page_size // 2)
        file.seek((root - 1) * page_size + page_size // 2)
        file.write(bytes(byte ^ 0x5A for byte in half))
    return int(root)


@contextmanager
def database_write_lock(db: Path) -> Iterator[None]:
    """Hold SQLite's write lock: a server's writer waits (its busy timeout is 30 s).

    Reads go on (WAL), and the server applies edits in memory, but it commits
    nothing, so it broadcasts nothing until the lock is released.
    """
    connection = sqlite3.connect(db, isolation_level=None, timeout=5)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()
