"""Comments: a note's third link (the comment link), and threads of comments on its text.

``note.comment_token`` opens a note to read it live and comment, never to edit.
Notes made before this revision get a fresh random one here (144 bits, as
``storage.notes.new_token`` makes). ``comment_thread`` holds a range of the
text as two Yjs relative positions and the words it was on; ``comment`` the
thread's comments, with the hash of the key their author's browser holds. Both
go with their note (ON DELETE CASCADE) when it is purged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _comment_links()
    _threads()


def _comment_links() -> None:
    # A plain ADD COLUMN, filled, then its unique index: a batch would copy the note
    # table, and dropping the old one would cascade to every note's history.
    bind = op.get_bind()
    op.add_column("note", sa.Column("comment_token", sa.String(64), nullable=True))
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM note"))]
    fill = sa.text("UPDATE note SET comment_token = :token WHERE id = :id")
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        bind.execute(fill, [{"id": note, "token": secrets.token_urlsafe(18)} for note in chunk])
    if bind.dialect.name == "postgresql":
        op.alter_column("note", "comment_token", nullable=False)
    op.create_index("ix_note_comment_token", "note", ["comment_token"], unique=True)


def _threads() -> None:
    op.create_table(
        "comment_thread",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "note_id", sa.Integer(), sa.ForeignKey("note.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("anchor_start", sa.LargeBinary(), nullable=False),
        sa.Column("anchor_end", sa.LargeBinary(), nullable=False),
        sa.Column("quote", sa.String(1000), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_comment_thread_note", "comment_thread", ["note_id", "id"])
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "thread_id",
            sa.Integer(),
            sa.ForeignKey("comment_thread.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("body", sa.String(5000), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_comment_thread", "comment", ["thread_id", "id"])


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
