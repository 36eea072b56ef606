"""Data functions for notes, called by the REST side. Each takes the session by keyword."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import text, update
from sqlmodel import Session, col, delete, or_, select

from storage import summaries
from storage.models import Note, UpdateLog, Version, VersionAuthor, utcnow
from storage.sql import NOTE, by_index

LinkKind = Literal["edit", "view", "comment"]
LINK_COLUMNS = {"edit": Note.edit_token, "view": Note.view_token, "comment": Note.comment_token}
"""The column of each of a note's links."""

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
    space_id: int | None = None,
    text: str = "",
    commit: bool = True,
) -> Note:
    """Create a note, with its first Yjs update (``added`` characters) if it has content.

    That update is position 1 of its history, and its first version. A note made
    in a space (``space_id``) is summarised for its list from ``text`` (its content)
    in the same transaction, so it appears there titled. ``commit=False`` leaves the
    transaction open, to make many notes in one (an import).
    """
    note = Note(
        edit_token=new_token(),
        view_token=new_token(),
        comment_token=new_token(),
        space_id=space_id,
    )
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
    if text:
        session.flush()
        assert note.id is not None
        summaries.save(session.connection(), note.id, note.head, summaries.summarise(text))
    if commit:
        session.commit()
        session.refresh(note)
    return note


def find_by_token(*, session: Session, token: str, include_deleted: bool = False) -> Note | None:
    """The note whose edit, view or comment token is ``token``, or None.

    A deleted note is found only with ``include_deleted`` (to restore it, or to
    say that it was deleted).
    """
    statement = select(Note).where(or_(*(col(link) == token for link in LINK_COLUMNS.values())))
    note = session.exec(statement).first()
    if note is not None and note.deleted_at is not None and not include_deleted:
        return None
    return note


def find_by_tokens(*, session: Session, tokens: Sequence[str]) -> list[tuple[int, str, str, str]]:
    """(id, edit, view, comment token) of each note one of ``tokens`` opens, deleted ones too.

    The tokens go as one parameter (an array; a JSON list on SQLite): 500 of
    them bound one by one, and the ORM rows, took a search request more CPU
    than its search did.
    """
    connection = session.connection()
    columns = "SELECT id, edit_token, view_token, comment_token FROM note WHERE"
    if connection.dialect.name == "postgresql":  # one statement, by the three indexes
        within = "= ANY(:tokens)"
        sql = f"{columns} edit_token {within} OR view_token {within} OR comment_token {within}"
        with by_index(connection):
            rows = connection.execute(text(sql), {"tokens": list(tokens)}).all()
    else:
        within = "IN (SELECT value FROM json_each(:tokens))"
        sql = (
            f"{columns} edit_token {within} UNION {columns} view_token {within}"
            f" UNION {columns} comment_token {within}"
        )
        rows = connection.execute(text(sql), {"tokens": json.dumps(list(tokens))}).all()
    return [(int(note), edit, view, comment) for note, edit, view, comment in rows]


def links_of(*, session: Session, notes: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The edit, view and comment tokens of those of ``notes`` that exist and are not deleted."""
    statement = select(NOTE.c.id, NOTE.c.edit_token, NOTE.c.view_token, NOTE.c.comment_token).where(
        NOTE.c.id.in_(notes), NOTE.c.deleted_at.is_(None)
    )
    return {note: tuple(links) for note, *links in session.connection().execute(statement)}


def get_note(*, session: Session, note_id: int) -> Note | None:
    """A note by its internal id."""
    return session.get(Note, note_id)


def replace_token(
    *, session: Session, note_id: int, which: LinkKind, edit_token: str, old: str
) -> Note | None:
    """Replace the note's edit, view or comment token ``old`` by a new one; the row as committed.

    A compare-and-swap: it happens only if the note still has ``edit_token`` (the
    requester's authority) and ``old``, and is not deleted. When a concurrent
    change won (a replacement, a deletion), it returns None, so no caller is
    ever handed a link that is already dead, and no deleted note gets a link
    nobody was given.
    """
    column = col(LINK_COLUMNS[which])
    return _change(
        session,
        update(Note)
        .where(col(Note.id) == note_id, col(Note.edit_token) == edit_token, column == old)
        .where(col(Note.deleted_at).is_(None))
        .values({column: new_token()}),
    )


def delete_note(*, session: Session, note_id: int, edit_token: str) -> Note | None:
    """Mark the note deleted, now, if ``edit_token`` still opens it; the row as committed.

    Deleting it again keeps the first time (and its window), and returns the
    row as it is. None: the link no longer opens the note (it was replaced).
    """
    deleted = _change(
        session,
        update(Note)
        .where(col(Note.id) == note_id, col(Note.edit_token) == edit_token)
        .where(col(Note.deleted_at).is_(None))
        .values(deleted_at=utcnow()),
        listed=True,
    )
    if deleted is not None:
        return deleted
    found = find_by_token(session=session, token=edit_token, include_deleted=True)
    return found if found is not None and found.deleted_at is not None else None


def restore_note(
    *, session: Session, note_id: int, edit_token: str, deleted_after: datetime
) -> Note | None:
    """Bring back the note ``edit_token`` opens if it was deleted after ``deleted_after``.

    Returns the row as committed; None if nothing changed (not deleted, deleted
    too long ago, or the link no longer opens it: the caller reads which).
    """
    return _change(
        session,
        update(Note)
        .where(col(Note.id) == note_id, col(Note.edit_token) == edit_token)
        .where(col(Note.deleted_at).is_not(None), col(Note.deleted_at) > deleted_after)
        .values(deleted_at=None),
        listed=True,
    )


def _change(session: Session, statement: Any, *, listed: bool = False) -> Note | None:
    """Run a conditional UPDATE of one note's row and commit; the row it wrote, or None.

    Every change of a note's row is one such statement, touching only the
    columns it owns, never a write-back of a row read earlier: the writer
    advances ``head`` and the session figures in the same row all the time,
    and a stale copy written over them moved a note's head back (acknowledged
    edits lost, every later append refused). Its WHERE is the change's
    precondition, checked by the database as it writes: PostgreSQL re-checks it
    on the row as committed by a concurrent writer it waited for, and SQLite
    has one writer at a time, so two changes of one note serialise and each
    answer is true. RETURNING hands back the row as committed, so no second
    read can see a later change.
    """
    returning = statement.returning(Note).execution_options(populate_existing=True)
    row = session.execute(returning).scalar_one_or_none()
    if row is not None:
        if listed and row.id is not None:  # a deletion or restore: the space's tag lists follow
            summaries.listed_in(session.connection(), [row.id])
        session.expunge(row)  # as committed: a commit would expire what it holds
    session.commit()
    return row if isinstance(row, Note) else None


def purge_deleted(*, session: Session, deleted_before: datetime, keep: set[int]) -> list[int]:
    """Remove notes deleted before ``deleted_before`` with their whole history, in one
    transaction; the ids in ``keep`` (notes still loaded somewhere) are left for later.
    Returns the ids removed.

    One DELETE of the notes' rows, with the condition in it, and the database's
    ON DELETE CASCADE takes their history: a note restored a moment before is
    not deleted any more when the statement meets its row, so it stays whole
    (selecting the ids first, then deleting by id, purged a note just restored).
    """
    statement = delete(Note).where(col(Note.deleted_at) < deleted_before)
    if keep:
        statement = statement.where(col(Note.id).not_in(keep))
    found = session.execute(statement.returning(col(Note.id)))
    ids = sorted(int(note_id) for note_id in found.scalars())
    session.commit()
    return ids
