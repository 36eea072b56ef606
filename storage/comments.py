"""Comments on a note's text: threads anchored to a range, and their comments.

Each function takes the session by keyword and commits before it returns, so a
comment is on disk before its request is answered or anyone is told of it. A
thread belongs to its note: every function checks the thread's note as it reads
or writes, and the note's row (deleted or not) is the caller's to check, through
the link. Comments stay when the note's text is restored to a version (they are
not in the text), and go with the note when it is purged (ON DELETE CASCADE).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, delete, select

from storage.models import Comment, CommentThread, as_utc, utcnow

MAX_ID = 2**31 - 1
"""Ids are SQL INTEGERs: PostgreSQL refuses a larger one in a query (an error, not a miss)."""


@dataclass(frozen=True)
class Said:
    """One comment as readers see it (never its key's hash)."""

    id: int
    author: str
    body: str
    created_at: datetime
    edited_at: datetime | None


@dataclass(frozen=True)
class Thread:
    """A thread and its comments, oldest first."""

    id: int
    quote: str
    resolved: bool
    anchor_start: bytes
    anchor_end: bytes
    created_at: datetime
    comments: list[Said] = field(default_factory=list)


def key_hash(key: str) -> str:
    """What is stored of an author's browser-held key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def threads_of(*, session: Session, note_id: int) -> list[Thread]:
    """The note's threads, oldest first, each with its comments."""
    rows = session.exec(
        select(CommentThread)
        .where(col(CommentThread.note_id) == note_id)
        .order_by(col(CommentThread.id))
    ).all()
    threads = {row.id: _thread(row) for row in rows if row.id is not None}
    if threads:
        said = session.exec(
            select(Comment).where(col(Comment.thread_id).in_(threads)).order_by(col(Comment.id))
        ).all()
        for comment in said:
            threads[comment.thread_id].comments.append(_said(comment))
    return list(threads.values())


def thread(*, session: Session, note_id: int, thread_id: int) -> Thread | None:
    """One thread of the note, with its comments; None if the note has no such thread."""
    row = _row(session, note_id, thread_id)
    if row is None:
        return None
    found = _thread(row)
    said = session.exec(
        select(Comment).where(col(Comment.thread_id) == thread_id).order_by(col(Comment.id))
    ).all()
    found.comments.extend(_said(comment) for comment in said)
    return found


def start_thread(
    *,
    session: Session,
    note_id: int,
    anchor: tuple[bytes, bytes],
    quote: str,
    author: str,
    body: str,
    key: str | None,
) -> Thread:
    """A new thread on ``anchor`` (its first comment, ``body``), committed."""
    row = CommentThread(note_id=note_id, anchor_start=anchor[0], anchor_end=anchor[1], quote=quote)
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add(_comment(row.id, author, body, key))
    session.commit()
    found = thread(session=session, note_id=note_id, thread_id=row.id)
    assert found is not None
    return found


def reply(
    *, session: Session, note_id: int, thread_id: int, author: str, body: str, key: str | None
) -> Thread | None:
    """Add a comment to a thread of the note, committed; None: no such thread."""
    if _row(session, note_id, thread_id) is None:
        return None
    session.add(_comment(thread_id, author, body, key))
    session.commit()
    return thread(session=session, note_id=note_id, thread_id=thread_id)


def set_resolved(
    *, session: Session, note_id: int, thread_id: int, resolved: bool
) -> Thread | None:
    """Resolve or reopen a thread of the note, committed; None: no such thread."""
    row = _row(session, note_id, thread_id)
    if row is None:
        return None
    row.resolved = resolved
    session.add(row)
    session.commit()
    return thread(session=session, note_id=note_id, thread_id=thread_id)


def delete_thread(*, session: Session, note_id: int, thread_id: int) -> bool:
    """Delete a thread of the note and its comments, committed; False: no such thread."""
    row = _row(session, note_id, thread_id)
    if row is None:
        return False
    session.exec(delete(Comment).where(col(Comment.thread_id) == thread_id))
    session.delete(row)
    session.commit()
    return True


def own_comment(
    *, session: Session, note_id: int, thread_id: int, comment_id: int, key: str
) -> Comment | bool | None:
    """The comment if ``key`` is its author's; False if it is not, None if there is none."""
    if _row(session, note_id, thread_id) is None:
        return None
    comment = session.get(Comment, comment_id) if 0 < comment_id <= MAX_ID else None
    if comment is None or comment.thread_id != thread_id:
        return None
    return comment if comment.key_hash == key_hash(key) else False


def edit_comment(*, session: Session, comment: Comment, body: str) -> None:
    """Change an own comment's text (found by :func:`own_comment`), committed."""
    comment.body = body
    comment.edited_at = utcnow()
    session.add(comment)
    session.commit()


def delete_comment(*, session: Session, comment: Comment) -> bool:
    """Delete an own comment, and its thread when it was the last; committed.

    Returns whether the thread went too.
    """
    thread_id = comment.thread_id
    session.delete(comment)
    session.flush()
    left = session.exec(select(Comment.id).where(col(Comment.thread_id) == thread_id)).first()
    if left is None:
        row = session.get(CommentThread, thread_id)
        if row is not None:
            session.delete(row)
    session.commit()
    return left is None


def _row(session: Session, note_id: int, thread_id: int) -> CommentThread | None:
    row = session.get(CommentThread, thread_id) if 0 < thread_id <= MAX_ID else None
    return row if row is not None and row.note_id == note_id else None


def _comment(thread_id: int, author: str, body: str, key: str | None) -> Comment:
    hashed = key_hash(key) if key else None
    return Comment(thread_id=thread_id, author=author, body=body, key_hash=hashed)


def _thread(row: CommentThread) -> Thread:
    assert row.id is not None
    return Thread(
        id=row.id,
        quote=row.quote,
        resolved=row.resolved,
        anchor_start=row.anchor_start,
        anchor_end=row.anchor_end,
        created_at=as_utc(row.created_at),
    )


def _said(comment: Comment) -> Said:
    assert comment.id is not None
    edited = as_utc(comment.edited_at) if comment.edited_at is not None else None
    return Said(comment.id, comment.author, comment.body, as_utc(comment.created_at), edited)
