"""Notes: deleting, restoring and purging, and the schema upgrade that made them possible."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage import notes
from storage.db import SCHEMA_VERSION, create_schema, make_engine
from storage.models import Note, Snapshot, utcnow

# The tables exactly as schema version 1 (collab-notes before delete-with-undo) made them.
VERSION_1 = """
CREATE TABLE note (
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	id INTEGER NOT NULL,
	edit_token VARCHAR(64) NOT NULL,
	view_token VARCHAR(64) NOT NULL,
	PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_note_edit_token ON note (edit_token);
CREATE UNIQUE INDEX ix_note_view_token ON note (view_token);
CREATE TABLE update_log (
	seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	note_id INTEGER NOT NULL,
	data BLOB NOT NULL,
	FOREIGN KEY(note_id) REFERENCES note (id) ON DELETE CASCADE
);
CREATE INDEX ix_update_log_note_id ON update_log (note_id);
CREATE TABLE snapshot (
	note_id INTEGER NOT NULL,
	upto_seq INTEGER NOT NULL,
	data BLOB NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (note_id),
	FOREIGN KEY(note_id) REFERENCES note (id) ON DELETE CASCADE
);
INSERT INTO note VALUES ('2026-01-02 03:04:05.000000', '2026-01-02 03:04:05.000000', 1,
                         'edit-token-1', 'view-token-1');
INSERT INTO update_log (note_id, data) VALUES (1, x'01020304');
PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_upgraded_and_keeps_its_notes(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.executescript(VERSION_1)
    engine = make_engine(f"sqlite:///{db_path}")
    create_schema(engine)
    with Session(engine) as session:
        note = notes.find_by_token(session=session, token="edit-token-1")
        assert note is not None and note.deleted_at is None
        notes.delete_note(session=session, note=note)
        assert notes.find_by_token(session=session, token="edit-token-1") is None
    engine.dispose()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert db.execute("SELECT data FROM update_log").fetchall() == [(b"\x01\x02\x03\x04",)]
        assert db.execute("SELECT deleted_at IS NOT NULL FROM note").fetchone() == (1,)
    create_schema(make_engine(f"sqlite:///{db_path}"))  # a second start changes nothing


def test_a_deleted_note_opens_only_when_asked_for_and_comes_back(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    create_schema(engine)
    with Session(engine) as session:
        note = notes.create_note(session=session, initial_update=b"\x00")
        notes.delete_note(session=session, note=note)
        first = note.deleted_at
        notes.delete_note(session=session, note=note)  # again: the window is not restarted
        assert note.deleted_at == first
        for token in (note.edit_token, note.view_token):
            assert notes.find_by_token(session=session, token=token) is None
            found = notes.find_by_token(session=session, token=token, include_deleted=True)
            assert found is not None and found.id == note.id
        notes.restore_note(session=session, note=note)
        assert notes.find_by_token(session=session, token=note.edit_token) is not None


def test_purging_removes_only_notes_deleted_before_the_window_and_not_loaded(
    db_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    create_schema(engine)
    with Session(engine) as session:
        old, recent, loaded, alive = (
            notes.create_note(session=session, initial_update=b"\x00") for _ in range(4)
        )
        session.add(Snapshot(note_id=old.id, upto_seq=1, data=b"\x00"))
        session.commit()
        for note in (old, recent, loaded):
            notes.delete_note(session=session, note=note)
        ids = [n.id for n in (old, recent, loaded, alive)]
        week_ago = utcnow() - timedelta(days=7, seconds=1)
        for note in (old, loaded):
            note.deleted_at = week_ago
            session.add(note)
        session.commit()
        purged = notes.purge_deleted(
            session=session, deleted_before=utcnow() - timedelta(days=7), keep={loaded.id}
        )
    assert purged == [ids[0]]
    with sqlite3.connect(db_path) as db:
        assert [row[0] for row in db.execute("SELECT id FROM note ORDER BY id")] == ids[1:]
        assert db.execute("SELECT count(*) FROM snapshot").fetchone() == (0,)
        logged = {row[0] for row in db.execute("SELECT note_id FROM update_log")}
        assert logged == set(ids[1:])


def test_a_failed_statement_does_not_show_its_parameters(tmp_path: Path) -> None:
    """Its message is logged with its traceback: it must not carry a token or a note's text."""
    engine = make_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    create_schema(engine)
    with Session(engine) as session:
        taken = notes.create_note(session=session, initial_update=None).edit_token
        session.add(Note(edit_token=taken, view_token="a-secret-view-token"))
        with pytest.raises(IntegrityError) as failure:
            session.commit()
    assert "UNIQUE constraint failed" in str(failure.value)
    assert taken not in str(failure.value)
    assert "a-secret-view-token" not in str(failure.value)
