"""Data functions for notes, called by the REST side. Each takes the session by keyword."""

from __future__ import annotations

import secrets
from typing import Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Note, UpdateLog

TOKEN_BYTES = 18
"""144 random bits per token: holding a token is what grants access."""


def new_token() -> str:
    """A fresh random URL-safe token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_note(*, session: Session, initial_update: bytes | None = None) -> Note:
    """Create a note, with its first Yjs update if it starts with content."""
    note = Note(edit_token=new_token(), view_token=new_token())
    session.add(note)
    session.flush()
    if initial_update is not None:
        assert note.id is not None
        session.add(UpdateLog(note_id=note.id, data=initial_update))
    session.commit()
    session.refresh(note)
    return note


def find_by_token(*, session: Session, token: str) -> Note | None:
    """The note whose edit or view token is ``token``, or None."""
    statement = select(Note).where(
        (col(Note.edit_token) == token) | (col(Note.view_token) == token)
    )
    return session.exec(statement).first()


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
