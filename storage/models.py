"""Every table of collab-notes.

A note's document is stored as Yjs updates, never as plain text. Its update log
is its history: every committed update, at a position that counts from 1 with no
gaps, in commit order (``note.head`` is the last one, advanced in the committing
transaction). Checkpoints hold the whole document at some positions, so that
loading, or looking at a past version, replays only the updates after one.
Versions are positions with a name or a summary: ``auto`` ones (a session of
editing), ``named`` ones and ``before-restore`` ones. The schema changes only
through the migrations in ``storage/migrations``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, func, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime | str) -> datetime:
    """A stored time as a UTC datetime (SQLite's raw driver hands back text, with no zone)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class NoteBase(SQLModel):
    """What every view of a note shares."""

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Space(SQLModel, table=True):
    """A named set of notes with its own two capability tokens (``storage.spaces``)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    edit_token: str = Field(unique=True, index=True, max_length=64)
    view_token: str = Field(unique=True, index=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # Set while the space (and the notes deleted with it, at this same moment) can come back.
    deleted_at: datetime | None = Field(default=None, nullable=True)


class Note(NoteBase, table=True):
    """A note, reachable through any of its three capability tokens."""

    # A space's list pages through these, never sorting the space's notes.
    __table_args__ = (
        Index("ix_note_space_edited", "space_id", "edited_at"),
        Index("ix_note_space_title", "space_id", func.lower(text("title"))),
    )

    id: int | None = Field(default=None, primary_key=True)
    edit_token: str = Field(unique=True, index=True, max_length=64)
    view_token: str = Field(unique=True, index=True, max_length=64)
    comment_token: str = Field(unique=True, index=True, max_length=64)  # reads and comments
    # Set while the note is deleted but can still be brought back; purged later.
    deleted_at: datetime | None = Field(default=None, nullable=True)
    head: int = Field(default=0)  # the position of the last update in the log
    # The open auto version (the current session of editing) and its figures so far.
    # A commit grows them here, in the row it rewrites for the head anyway; the
    # version's own row gets them when the session ends (readers: storage.history).
    session_version: int | None = Field(default=None, nullable=True)
    session_added: int = Field(default=0)
    session_removed: int = Field(default=0)
    session_last_at: datetime | None = Field(default=None, nullable=True)
    # The space the note is in (None: in none), and whether it is one of its templates.
    space_id: int | None = Field(default=None, nullable=True, foreign_key="space.id")
    is_template: bool = Field(default=False)
    # What a space's list shows of the note, as its log stood at ``summary_head``: kept
    # off the keystroke path by web.summary_keeper (storage.summaries makes them).
    title: str = Field(default="", max_length=200)
    excerpt: str = Field(default="", max_length=200)
    summary_head: int = Field(default=0)
    # note.updated_at as of that summary: what a list sorts by and shows, so that the
    # commits that advance updated_at never write an index.
    edited_at: datetime = Field(default_factory=utcnow)


class NoteTag(SQLModel, table=True):
    """A tag of a note: a ``#word`` in its text or in its front matter's ``tags:``."""

    __tablename__ = "note_tag"
    __table_args__ = (Index("ix_note_tag_space_tag", "space_id", "tag"),)

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(primary_key=True, max_length=100)
    # The note's space while it is in one and not deleted (else None), so that a space's
    # tags are counted from this table alone (storage.summaries.listed_in).
    space_id: int | None = Field(default=None, nullable=True)


class SpaceTag(SQLModel, table=True):
    """How many of a space's notes have a tag: ``note_tag`` counted, kept as it changes
    (``storage.summaries.count_tags``), so that a space's list does not count 30,000
    rows for each request."""

    __tablename__ = "space_tag"

    space_id: int = Field(primary_key=True)
    tag: str = Field(primary_key=True, max_length=100)
    notes: int = Field(default=0)


class UpdateLog(SQLModel, table=True):
    """One committed Yjs update of a note, at its position in the note's history."""

    __tablename__ = "update_log"

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    position: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    committed_at: datetime = Field(default_factory=utcnow)
    # The name in the sending connection's presence; None for history kept before names were.
    author: str | None = Field(default=None, max_length=100)
    added: int = 0  # characters (UTF-16 units) the update inserted
    removed: int = 0  # ...and deleted


class Checkpoint(SQLModel, table=True):
    """A note's whole document as its log stands at ``position``."""

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    position: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Version(SQLModel, table=True):
    """A version of a note: its state at ``position`` in the log, and what led there."""

    __table_args__ = (Index("ix_version_note_position", "note_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)  # auto, named, before-restore
    name: str | None = Field(default=None, max_length=100)
    position: int  # the state this version stands for (the open auto version: note.head)
    first_position: int  # an auto version's first update (its session began there)
    started_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)  # an auto version: its last edit
    added: int = 0
    removed: int = 0
    sealed: bool = False  # an auto version that takes no more edits (a note's first content)


class VersionAuthor(SQLModel, table=True):
    """Who edited in a version: one row per name."""

    __tablename__ = "version_author"

    version_id: int = Field(foreign_key="version.id", primary_key=True, ondelete="CASCADE")
    name: str = Field(primary_key=True, max_length=100)


class Restore(SQLModel, table=True):
    """A restore: who made the note's text a past version's, and where its own change is.

    Keyed by the before-restore version it follows. ``position`` is the log row
    of the restore's own change (what Undo restore inverts); the restored
    version's time and name are copied, as thinning may merge that version away.
    """

    version_id: int = Field(foreign_key="version.id", primary_key=True, ondelete="CASCADE")
    author: str = Field(max_length=100)
    position: int  # the restore's own update in the log
    restored_id: int  # the version restored (it may be merged away later: its figures follow)
    restored_kind: str = Field(max_length=16)
    restored_name: str | None = Field(default=None, max_length=100)
    restored_at: datetime
    undone_by: str | None = Field(default=None, max_length=100)
    undone_at: datetime | None = Field(default=None, nullable=True)


class FileBlob(SQLModel, table=True):
    """The bytes of an uploaded file, stored once, keyed by their SHA-256 (``storage.files``)."""

    __tablename__ = "file_blob"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of ``data``
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    media_type: str = Field(max_length=100)  # sniffed from the bytes when uploaded
    size: int
    created_at: datetime = Field(default_factory=utcnow)


class NoteFile(SQLModel, table=True):
    """A file uploaded to a note: readable through that note's links only."""

    __tablename__ = "note_file"

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    file_id: str = Field(foreign_key="file_blob.id", primary_key=True, max_length=64, index=True)
    name: str = Field(max_length=200)
    size: int
    created_at: datetime = Field(default_factory=utcnow)
    # When the note was last seen naming it (``storage.file_retention``); an upload counts.
    seen_at: datetime = Field(default_factory=utcnow, index=True, nullable=True)


class AuthorRun(SQLModel, table=True):
    """Who typed clocks ``start``..``end`` of one Yjs client in a note, and when.

    Built from the log, off the keystroke path (``storage/attribution.py``): a run
    is the log rows of one client, one author and one UTC day whose items follow
    each other. ``position`` is its first row's, which tells a restore's text.
    """

    __tablename__ = "author_run"

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    client: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    start: int = Field(primary_key=True)
    end: int
    author: str | None = Field(default=None, max_length=100)  # None: the log kept no name
    first_at: datetime
    last_at: datetime
    position: int


class AuthorMark(SQLModel, table=True):
    """How far into a note's log its ``author_run`` rows go."""

    __tablename__ = "author_mark"

    note_id: int = Field(foreign_key="note.id", primary_key=True, ondelete="CASCADE")
    position: int = 0


class CommentThread(SQLModel, table=True):
    """A thread of comments on a range of a note's text (``storage.comments``).

    The range is two Yjs relative positions (``anchor_start``, ``anchor_end``, as
    ``Y.encodeRelativePosition`` writes them): they follow the text through every
    edit, and collapse to one point when the text is deleted; ``quote`` keeps the
    words as they were when the thread began.
    """

    __tablename__ = "comment_thread"
    __table_args__ = (Index("ix_comment_thread_note", "note_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", ondelete="CASCADE")
    anchor_start: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    anchor_end: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    quote: str = Field(max_length=1000)
    resolved: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Comment(SQLModel, table=True):
    """One comment of a thread; ``key_hash`` is the SHA-256 of its author's browser key."""

    __table_args__ = (Index("ix_comment_thread", "thread_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="comment_thread.id", ondelete="CASCADE")
    author: str = Field(max_length=100)
    body: str = Field(max_length=5000)
    key_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    edited_at: datetime | None = Field(default=None, nullable=True)
