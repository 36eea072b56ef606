"""Notes: deleting, restoring and purging with their whole history."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col
from support.sql import query

from storage import notes
from storage.db import create_schema, make_engine
from storage.models import Checkpoint, Note, utcnow


def test_a_deleted_note_opens_only_when_asked_for_and_comes_back(engine: Engine) -> None:
    with Session(engine) as session:
        note = notes.create_note(session=session, initial_update=b"\x00")
        assert note.id is not None
        deleted = notes.delete_note(session=session, note_id=note.id, edit_token=note.edit_token)
        assert deleted is not None and deleted.deleted_at is not None
        again = notes.delete_note(session=session, note_id=note.id, edit_token=note.edit_token)
        assert again is not None and again.deleted_at == deleted.deleted_at  # the same window
        for token in (note.edit_token, note.view_token):
            assert notes.find_by_token(session=session, token=token) is None
            found = notes.find_by_token(session=session, token=token, include_deleted=True)
            assert found is not None and found.id == note.id
        too_late = utcnow()
        assert notes.restore_note(**by_token(session, note), deleted_after=too_late) is None
        week_ago = utcnow() - timedelta(days=7)
        restored = notes.restore_note(**by_token(session, note), deleted_after=week_ago)
        assert restored is not None and restored.deleted_at is None
        assert notes.find_by_token(session=session, token=note.edit_token) is not None
        assert notes.restore_note(**by_token(session, note), deleted_after=week_ago) is None


def by_token(session: Session, note: Note) -> dict[str, Any]:
    return {"session": session, "note_id": note.id, "edit_token": note.edit_token}


def test_a_change_of_the_row_writes_only_its_columns_over_a_concurrent_writer(
    engine: Engine, database_url: str
) -> None:
    """Each change is made while the writer has advanced the head since the row was read."""
    with Session(engine) as session:
        note = notes.create_note(session=session, initial_update=b"\x00")
    assert note.id is not None
    advance = "UPDATE note SET head = head + 5, session_added = session_added + 5 WHERE id = :id"
    with Session(engine) as session:
        session.execute(text(advance), {"id": note.id})
        session.commit()
        notes.delete_note(session=session, note_id=note.id, edit_token=note.edit_token)
        session.execute(text(advance), {"id": note.id})
        session.commit()
        notes.restore_note(**by_token(session, note), deleted_after=utcnow() - timedelta(days=1))
        session.execute(text(advance), {"id": note.id})
        session.commit()
        changed = notes.replace_token(
            session=session,
            note_id=note.id,
            which="view",
            edit_token=note.edit_token,
            old=note.view_token,
        )
    assert changed is not None and changed.head == 16 and changed.session_added == 15
    assert query(database_url, "SELECT head, session_added FROM note") == [(16, 15)]


def test_a_deleted_note_gets_no_new_link_and_a_replaced_link_deletes_nothing(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        note = notes.create_note(session=session, initial_update=b"\x00")
        assert note.id is not None
        note_id, old = note.id, note.edit_token
        rotated = notes.replace_token(
            session=session, note_id=note_id, which="edit", edit_token=old, old=old
        )
        assert rotated is not None and rotated.edit_token != old
        assert notes.delete_note(session=session, note_id=note_id, edit_token=old) is None
        assert notes.delete_note(**by_token(session, rotated)) is not None
        edit, view = rotated.edit_token, rotated.view_token
        assert notes.replace_token(**by_token(session, rotated), which="edit", old=edit) is None
        assert notes.replace_token(**by_token(session, rotated), which="view", old=view) is None


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
            notes.delete_note(**by_token(session, note))
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


def test_a_note_restored_while_the_purge_runs_is_not_purged(
    engine: Engine, database_url: str
) -> None:
    """The restore holds the row (uncommitted) as the purge writes; it commits, then the purge
    goes on: the note is not deleted any more, so it stays, with its history."""
    with Session(engine) as session:
        note = notes.create_note(session=session, initial_update=b"\x00")
    week_ago = utcnow() - timedelta(days=7, seconds=1)
    with Session(engine) as session:
        session.execute(update(Note).where(col(Note.id) == note.id).values(deleted_at=week_ago))
        session.commit()
    writing = threading.Event()

    def purge_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            writing.set()

    def purge() -> list[int]:
        with Session(engine) as session:
            return notes.purge_deleted(
                session=session, deleted_before=utcnow() - timedelta(days=7), keep=set()
            )

    event.listen(engine, "before_cursor_execute", purge_writes)
    with engine.connect() as restore, ThreadPoolExecutor(1) as pool:
        restore.execute(
            update(Note).where(col(Note.id) == note.id).values(deleted_at=None)
        )  # the restore holds the row (PostgreSQL) or the write lock (SQLite) until it commits
        purged = pool.submit(purge)
        assert writing.wait(10), "the purge never wrote"
        restore.commit()
        assert purged.result(timeout=40) == []
    event.remove(engine, "before_cursor_execute", purge_writes)
    assert query(database_url, "SELECT id, deleted_at FROM note") == [(note.id, None)]
    assert query(database_url, "SELECT count(*) FROM update_log") == [(1,)]
