"""Files in the database: bytes stored once, a note's total bounded, unused blobs collected,
and what ``check`` says of blobs no note has or whose bytes changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from support.databases import notes_database

from storage import files, notes
from storage.db import make_engine
from storage.files import NoteFull


def add(engine: Engine, note: int, data: bytes, limit: int = 0) -> files.StoredFile:
    with Session(engine) as session:
        return files.add_file(
            session=session,
            note_id=note,
            data=data,
            media_type="text/plain",
            name="a.txt",
            max_note_bytes=limit,
        )


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def new_note(engine: Engine) -> int:
    with Session(engine) as session:
        note = notes.create_note(session=session)
        assert note.id is not None
        return note.id


def test_the_same_bytes_are_stored_once_and_collected_when_no_note_has_them(
    engine: Engine,
) -> None:
    first, second = new_note(engine), new_note(engine)
    made = add(engine, first, b"hello")
    assert add(engine, first, b"hello") == made  # again in the same note: nothing new
    assert add(engine, second, b"hello").id == made.id
    assert (count(engine, "file_blob"), count(engine, "note_file")) == (1, 2)
    with Session(engine) as session:
        session.connection().execute(text("DELETE FROM note WHERE id = :n"), {"n": first})
        session.commit()
        assert files.collect_blobs(session=session) == 0  # the second note still has it
        session.connection().execute(text("DELETE FROM note WHERE id = :n"), {"n": second})
        session.commit()
        assert files.collect_blobs(session=session) == 1
    assert count(engine, "file_blob") == 0


def test_a_note_full_of_files_takes_no_more_and_nothing_is_written(engine: Engine) -> None:
    note = new_note(engine)
    add(engine, note, b"x" * 60, limit=100)
    with pytest.raises(NoteFull) as refused:
        add(engine, note, b"y" * 41, limit=100)
    assert (refused.value.stored, refused.value.limit) == (60, 100)
    assert add(engine, note, b"x" * 60, limit=100).size == 60  # one it has: no new bytes
    assert count(engine, "file_blob") == 1


@pytest.mark.sqlite_only  # the check reads SQLite files
def test_check_names_blobs_no_note_has_and_blobs_whose_bytes_changed(db_path: Path) -> None:
    [note] = notes_database(db_path, ["with files"])
    engine = make_engine(f"sqlite:///{db_path}")
    kept = add(engine, note, b"kept").id
    orphan = add(engine, new_note(engine), b"orphan").id
    engine.dispose()
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("DELETE FROM note WHERE id = 2")
        connection.execute("UPDATE file_blob SET data = ? WHERE id = ?", (b"kepT", kept))
        assert files.problems(connection) == [
            (f"file {orphan}", "no note has it (the next purge deletes it)"),
            (f"file {kept}", "its bytes are not those it was stored with"),
        ]
    connection.close()
