"""Notes: deleting, restoring and purging with their whole history."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from support.sql import query

from storage import notes
from storage.db import create_schema, make_engine
from storage.models import Checkpoint, Note, utcnow


def test_a_deleted_note_opens_only_when_asked_for_and_comes_back(engine: Engine) -> None:
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
    engine: Engine, database_url: str
) -> None:
    with Session(engine) as session:
        old, recent, loaded, alive = (
            notes.create_note(session=session, initial_update=b"\x00") for _ in range(4)
        )
        session.add(Checkpoint(note_id=old.id, position=1, data=b"\x00"))
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
    assert [row[0] for row in query(database_url, "SELECT id FROM note ORDER BY id")] == ids[1:]
    assert query(database_url, "SELECT count(*) FROM checkpoint") == [(0,)]
    assert {row[0] for row in query(database_url, "SELECT note_id FROM version")} == set(ids[1:])
    assert {row[0] for row in query(database_url, "SELECT note_id FROM update_log")} == set(ids[1:])


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
