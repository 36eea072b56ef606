"""Data functions for spaces, called by the REST side. Each takes the session by keyword.

A space is a named set of notes with its own edit and view tokens. Deleting a
space deletes its notes at the same moment (``deleted_at`` equal to the
space's), so undeleting it brings back those, and not the notes deleted on
their own before it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as orm_select

from storage import summaries
from storage.models import Space, UpdateLog, as_utc, utcnow
from storage.notes import new_token

Sort = Literal["edited", "title"]

SPACE = SQLModel.metadata.tables[str(Space.__tablename__)]
NOTE = summaries.NOTE
NOTE_TAG = summaries.NOTE_TAG
SPACE_TAG = summaries.SPACE_TAG
LOG = SQLModel.metadata.tables[UpdateLog.__tablename__]


class BadCursor(ValueError):
    """An ``after`` cursor this module did not make (or made for another sort)."""


def create_space(*, session: Session, name: str) -> Space:
    """A new space with fresh tokens."""
    space = Space(name=name, edit_token=new_token(), view_token=new_token())
    session.add(space)
    session.commit()
    session.expire_all()  # the notes changed under any loaded in this session
    session.refresh(space)
    return space


def find_space(*, session: Session, token: str, include_deleted: bool = False) -> Space | None:
    """The space whose edit or view token is ``token``, or None (a deleted one only if asked)."""
    statement = orm_select(Space).where(
        (col(Space.edit_token) == token) | (col(Space.view_token) == token)
    )
    space = session.exec(statement).first()
    if space is not None and space.deleted_at is not None and not include_deleted:
        return None
    return space


def replace_space_token(
    *, session: Session, space_id: int, which: Literal["edit", "view"], edit_token: str, old: str
) -> str | None:
    """Replace the space's edit or view token ``old``; None if a concurrent replacement won
    (a compare-and-swap on the requester's edit token and ``old``, as for notes)."""
    new = new_token()
    column = SPACE.c.edit_token if which == "edit" else SPACE.c.view_token
    result = session.execute(
        update(SPACE)
        .where(SPACE.c.id == space_id, SPACE.c.edit_token == edit_token, column == old)
        .where(SPACE.c.deleted_at.is_(None))  # a deleted space gets no link nobody was given
        .values({column: new})
    )
    session.commit()
    return new if result.rowcount == 1 else None  # type: ignore[attr-defined]


def delete_space(*, session: Session, space_id: int, edit_token: str) -> list[int] | None:
    """Delete the space and its notes now, if ``edit_token`` still opens it; the ids of
    the notes deleted with it ([] if it was deleted already; None: the link was replaced).

    Conditional UPDATEs of the columns they own, in one transaction, as for notes
    (``storage.notes``): never a write-back of a row read earlier, which a link
    replaced meanwhile would have been overwritten by.
    """
    now = utcnow()
    mine = (SPACE.c.id == space_id, SPACE.c.edit_token == edit_token)
    marked = session.execute(
        update(SPACE).where(*mine, SPACE.c.deleted_at.is_(None)).values(deleted_at=now)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult has it
        session.rollback()
        held = session.execute(select(SPACE.c.id).where(*mine)).first()
        return [] if held is not None else None
    notes = update(NOTE).where(NOTE.c.space_id == space_id, NOTE.c.deleted_at.is_(None))
    ids = list(session.execute(notes.values(deleted_at=now).returning(NOTE.c.id)).scalars())
    summaries.listed_in(session.connection(), ids)
    session.commit()
    return ids


def restore_space(
    *, session: Session, space_id: int, edit_token: str, deleted_after: datetime
) -> bool:
    """Bring the space back, with the notes deleted with it, if ``edit_token`` opens it
    and it was deleted after ``deleted_after``; whether it is back now (or was never gone)."""
    mine = (SPACE.c.id == space_id, SPACE.c.edit_token == edit_token)
    found = session.execute(select(SPACE.c.deleted_at).where(*mine)).first()
    if found is None:
        return False
    deleted_at = found[0]
    if deleted_at is None:
        return True
    back = session.execute(
        update(SPACE)
        .where(*mine, SPACE.c.deleted_at == deleted_at, SPACE.c.deleted_at > deleted_after)
        .values(deleted_at=None)
    )
    if back.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult has it
        session.rollback()
        return False
    notes = update(NOTE).where(NOTE.c.space_id == space_id, NOTE.c.deleted_at == deleted_at)
    ids = list(session.execute(notes.values(deleted_at=None).returning(NOTE.c.id)).scalars())
    summaries.listed_in(session.connection(), ids)
    session.commit()
    return True


def purge_deleted_spaces(*, session: Session, deleted_before: datetime) -> list[int]:
    """Remove spaces deleted before ``deleted_before``. Their notes were deleted with them
    and are purged by :func:`storage.notes.purge_deleted`; one brought back on its own by
    its own link stays, in no space."""
    ids = list(
        session.execute(select(SPACE.c.id).where(SPACE.c.deleted_at < deleted_before)).scalars()
    )
    if ids:
        left = update(NOTE).where(NOTE.c.space_id.in_(ids)).values(space_id=None)
        summaries.listed_in(
            session.connection(), list(session.execute(left.returning(NOTE.c.id)).scalars())
        )
        session.execute(SPACE.delete().where(SPACE.c.id.in_(ids)))
        session.commit()
    return ids


def put_note(*, session: Session, note_id: int, space_id: int | None) -> None:
    """Move a note into a space (None: into none); it stops being a template there."""
    session.execute(
        update(NOTE).where(NOTE.c.id == note_id).values(space_id=space_id, is_template=False)
    )
    summaries.listed_in(session.connection(), [note_id])
    session.commit()


def set_template(*, session: Session, note_id: int, template: bool) -> None:
    """Mark a note as one of its space's templates, or not."""
    session.execute(update(NOTE).where(NOTE.c.id == note_id).values(is_template=template))
    session.commit()


def save_summary(*, session: Session, note_id: int, head: int, text: str) -> bool:
    """Summarise ``text`` (the note at log position ``head``) for the lists, and store it."""
    saved = summaries.save(session.connection(), note_id, head, summaries.summarise(text))
    session.commit()
    return saved


@dataclass(frozen=True, slots=True)
class Listed:
    """A note as a space's list shows it; ``token`` is of the role the list was asked with."""

    token: str
    title: str
    excerpt: str
    tags: list[str]
    updated_at: datetime
    updated_by: str | None
    template: bool


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a space's list, and the cursor of the next (None: it was the last)."""

    notes: list[Listed]
    next: str | None


def list_notes(
    *,
    session: Session,
    space_id: int,
    editor: bool,
    sort: Sort = "edited",
    limit: int = 50,
    after: str | None = None,
    tag: str | None = None,
) -> Page:
    """A page of the space's notes: last edited first, or by title.

    Keyset paging: ``after`` is the ``next`` of the page before. A viewer's page
    holds the notes' view tokens; the edit tokens are not even read.
    """
    token = NOTE.c.edit_token if editor else NOTE.c.view_token
    author = (
        select(LOG.c.author)
        .where(LOG.c.note_id == NOTE.c.id, LOG.c.position == NOTE.c.head)
        .scalar_subquery()
    )
    key = func.lower(NOTE.c.title) if sort == "title" else NOTE.c.edited_at
    query = select(
        NOTE.c.id, token, NOTE.c.title, NOTE.c.excerpt, NOTE.c.edited_at, author, key
    ).where(NOTE.c.space_id == space_id, NOTE.c.deleted_at.is_(None))
    if tag:
        tagged = select(NOTE_TAG.c.note_id).where(
            NOTE_TAG.c.space_id == space_id, NOTE_TAG.c.tag == tag.casefold()
        )
        query = query.where(NOTE.c.id.in_(tagged))
    query = query.add_columns(NOTE.c.is_template)
    if after:
        query = query.where(_after(sort, key, after))
    if sort == "title":
        query = query.order_by(key, NOTE.c.id)
    else:
        query = query.order_by(key.desc(), NOTE.c.id.desc())
    rows = session.execute(query.limit(limit + 1)).all()
    tags = _tags_of(session, [row[0] for row in rows[:limit]])
    notes = [
        Listed(row[1], row[2], row[3], tags.get(row[0], []), as_utc(row[4]), row[5], bool(row[7]))
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return Page(notes, _cursor(sort, rows[limit - 1]) if more else None)


def _tags_of(session: Session, notes: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if notes:
        query = select(NOTE_TAG.c.note_id, NOTE_TAG.c.tag).where(NOTE_TAG.c.note_id.in_(notes))
        for note, tag in session.execute(query.order_by(NOTE_TAG.c.tag)):
            found.setdefault(note, []).append(tag)
    return found


def _cursor(sort: Sort, row: Any) -> str:
    raw = json.dumps([sort, row[0]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(sort: Sort, key: Any, cursor: str) -> Any:
    """The notes after the cursor's note, where it stands now.

    The cursor names a note, not a time: a time read back from PostgreSQL's
    ``timestamp`` and sent again as a zoned one compares shifted by the session's
    time zone. A note edited since the page before was read is where it is now.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, note = json.loads(raw)
        if made_for != sort or not isinstance(note, int):
            raise ValueError("another sort's cursor")
    except ValueError as error:
        raise BadCursor(f"after: not a cursor of this list ({error})") from None
    there = NOTE.alias("cursor")
    if sort == "title":
        value = select(func.lower(there.c.title)).where(there.c.id == note).scalar_subquery()
        return or_(key > value, and_(key == value, NOTE.c.id > note))
    value = select(there.c.edited_at).where(there.c.id == note).scalar_subquery()
    return or_(key < value, and_(key == value, NOTE.c.id < note))


def tag_counts(*, session: Session, space_id: int) -> list[tuple[str, int]]:
    """Each tag of the space's notes and how many notes have it, most used first.

    Read from the counts kept as tags change (``storage.summaries.count_tags``, which
    deletes a count that falls to 0): counting ``note_tag`` for each request took
    8 ms on PostgreSQL at 10,000 notes.
    """
    query = (
        select(SPACE_TAG.c.tag, SPACE_TAG.c.notes)
        .where(SPACE_TAG.c.space_id == space_id)
        .order_by(SPACE_TAG.c.notes.desc(), SPACE_TAG.c.tag)
    )
    return [(tag, int(n)) for tag, n in session.execute(query)]


def note_ids(*, session: Session, space_id: int) -> list[int]:
    """Every note of the space that is not deleted, oldest first (an export's order)."""
    query = select(NOTE.c.id).where(NOTE.c.space_id == space_id, NOTE.c.deleted_at.is_(None))
    return list(session.execute(query.order_by(NOTE.c.id)).scalars())


def notes_reached(
    *, session: Session, tokens: Sequence[str]
) -> list[tuple[int, str, str, str, bool]]:
    """(note, its edit token, its view token, its space's name, editor?) of every note
    that is not deleted in the spaces that are not deleted whose edit or view link is
    among ``tokens``; editor? is whether the space's edit link was. One query for all."""
    sent = list(dict.fromkeys(tokens))
    if not sent:
        return []
    editor = SPACE.c.edit_token.in_(sent)
    query = (
        select(NOTE.c.id, NOTE.c.edit_token, NOTE.c.view_token, SPACE.c.name, editor)
        .join(SPACE, NOTE.c.space_id == SPACE.c.id)
        .where(editor | SPACE.c.view_token.in_(sent))
        .where(SPACE.c.deleted_at.is_(None), NOTE.c.deleted_at.is_(None))
    )
    rows = session.execute(query)
    return [(int(note), edit, view, name, bool(by)) for note, edit, view, name, by in rows]
