"""Every table of collab-notes.

A note's document is stored as Yjs updates, never as plain text: an append-only
log of updates, each with a monotonic sequence number, and at most one snapshot
that stands for every logged update up to ``upto_seq``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class NoteBase(SQLModel):
    """What every view of a note shares."""

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Note(NoteBase, table=True):
    """A note, reachable through either of its two capability tokens."""

    id: int | None = Field(default=None, primary_key=True)
    edit_token: str = Field(unique=True, index=True, max_length=64)
    view_token: str = Field(unique=True, index=True, max_length=64)
    # Set while the note is deleted but can still be brought back; purged later.
    deleted_at: datetime | None = Field(default=None, nullable=True)


class UpdateLog(SQLModel, table=True):
    """One committed Yjs update of a note; ``seq`` orders the whole log."""

    __tablename__ = "update_log"
    # AUTOINCREMENT: SQLite would otherwise reuse sequence numbers once compaction
    # empties the log, and new updates would sort before the snapshot covering them.
    __table_args__ = {"sqlite_autoincrement": True}

    seq: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", index=True, ondelete="CASCADE")
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Snapshot(SQLModel, table=True):
    """A note's whole document, standing for its log up to and including ``upto_seq``."""

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    upto_seq: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
