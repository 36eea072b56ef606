"""Data functions for notes, called by the REST side. Each takes the session by keyword."""

from __future__ import annotations

import secrets
from typing import Literal

from sqlmodel import Session, col, select

from storage.models import Note, UpdateLog

Role = Literal["editor", "viewer"]

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


def resolve_token(*, session: Session, token: str) -> tuple[Note, Role] | None:
    """The note a token opens and the role it grants, or None for an unknown token.

    This is the one place where a link becomes a permission.
    """
    if not token or len(token) > 64:
        return None
    statement = select(Note).where(
        (col(Note.edit_token) == token) | (col(Note.view_token) == token)
    )
    note = session.exec(statement).first()
    if note is None:
        return None
    return note, "editor" if secrets.compare_digest(note.edit_token, token) else "viewer"


def get_note(*, session: Session, note_id: int) -> Note | None:
    """A note by its internal id."""
    return session.get(Note, note_id)


def rotate_token(*, session: Session, note: Note, which: Literal["edit", "view"]) -> str:
    """Give the note a new edit or view token; the old one stops working. Returns the old one."""
    if which == "edit":
        old, note.edit_token = note.edit_token, new_token()
    else:
        old, note.view_token = note.view_token, new_token()
    session.add(note)
    session.commit()
    session.refresh(note)
    return old
