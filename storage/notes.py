"""Data functions for notes, called by the REST side. Each takes the session by keyword."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from storage.models import Checkpoint, Note, UpdateLog, Version, VersionAuthor, utcnow

TOKEN_BYTES = 18
"""144 random bits per token: holding a token is what grants access."""


def new_token() -> str:
    """A fresh random URL-safe token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_note(
    *,
    session: Session,
    initial_update: bytes | None = None,
    added: int = 0,
    author: str = "Anonymous",
) -> Note:
    """Create a note, with its first Yjs update (``added`` characters) if it has content.

    That update is position 1 of its history, and its first version.
    """
    note = Note(edit_token=new_token(), view_token=new_token())
    session.add(note)
    session.flush()
    if initial_update is not None:
        assert note.id is not None
        note.head = 1
        session.add(
            UpdateLog(note_id=note.id, position=1, data=initial_update, author=author, added=added)
        )
        version = Version(
            note_id=note.id, kind="auto", position=1, first_position=1, added=added, sealed=True
        )
        session.add(version)
        session.flush()
        assert version.id is not None
        session.add(VersionAuthor(version_id=version.id, name=author))
    session.commit()
    session.refresh(note)
    return note


def find_by_token(*, session: Session, token: str, include_deleted: bool = False) -> Note | None:
    """The note whose edit or view token is ``token``, or None.

    A deleted note is found only with ``include_deleted`` (to restore it, or to
    say that it was deleted).
    """
    statement = select(Note).where(
        (col(Note.edit_token) == token) | (col(Note.view_token) == token)
    )
    note = session.exec(statement).first()
    if note is not None and note.deleted_at is not None and not include_deleted:
        return None
    return note


def get_note(*, session: Session, note_id: int) -> Note | None:
    """A note by its internal id."""
    return session.get(Note, note_id)


def replace_token(
    *, session: Session, note_id: int, which: Literal["edit", "view"], edit_token: str, old: str
) -> str | None:
    """Replace the note's edit or view token ``old`` by a new one; return it.

    A compare-and-swap: it happens only if the note still has ``edit_token`` (the
    requester's authority) and ``old``. When a concurrent replacement won, it
    returns None, so no caller is ever handed a link that is already dead.
    """
    new = new_token()
    column = col(Note.edit_token) if which == "edit" else col(Note.view_token)
    statement = (
        update(Note)
        .where(col(Note.id) == note_id, col(Note.edit_token) == edit_token, column == old)
        .values({column: new})
    )
    result = session.execute(statement)
    session.commit()
    return new if result.rowcount == 1 else None  # type: ignore[attr-defined]


def delete_note(*, session: Session, note: Note) -> None:
    """Mark the note deleted, now; deleting it again keeps the first time (and its window)."""
    if note.deleted_at is None:
        note.deleted_at = utcnow()
        session.add(note)
        session.commit()
        session.refresh(note)


def restore_note(*, session: Session, note: Note) -> None:
    """Bring a deleted note back."""
    note.deleted_at = None
    session.add(note)
    session.commit()
    session.refresh(note)


def purge_deleted(*, session: Session, deleted_before: datetime, keep: set[int]) -> list[int]:
    """Remove notes deleted before ``deleted_before`` with their whole history, in one
    transaction; the ids in ``keep`` (notes still loaded somewhere) are left for later.
    Returns the ids removed."""
    statement = select(Note.id).where(col(Note.deleted_at) < deleted_before)
    ids = [note_id for note_id in session.exec(statement) if note_id is not None]
    ids = [note_id for note_id in ids if note_id not in keep]
    if ids:
        versions = select(Version.id).where(col(Version.note_id).in_(ids))
        session.exec(delete(VersionAuthor).where(col(VersionAuthor.version_id).in_(versions)))
        for table in (Version, Checkpoint, UpdateLog):
            session.exec(delete(table).where(col(table.note_id).in_(ids)))
        session.exec(delete(Note).where(col(Note.id).in_(ids)))
        session.commit()
    return ids
