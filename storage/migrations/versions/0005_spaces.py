"""Spaces: named sets of notes with their own links; a note's title, excerpt and tags.

``space`` holds a space's two tokens; ``note.space_id`` puts a note in one and
``note.is_template`` makes it one of its templates. ``note.title``,
``note.excerpt`` and ``note_tag`` are what a space's list shows, kept as the log
stood at ``note.summary_head`` (0 here: notes made before spaces are in none, and
are summarised when they join one).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _spaces()
    _notes_in_spaces()
    _tags()


def _spaces() -> None:
    op.create_table(
        "space",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("edit_token", sa.String(64), nullable=False),
        sa.Column("view_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_space_edit_token", "space", ["edit_token"], unique=True)
    op.create_index("ix_space_view_token", "space", ["view_token"], unique=True)


def _notes_in_spaces() -> None:
    # Plain ADD COLUMNs: a batch would copy the note table, and dropping the old one
    # would cascade to every note's history. SQLite takes a REFERENCES clause there,
    # which Alembic does not write for it.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE note ADD COLUMN space_id INTEGER REFERENCES space (id)")
    else:
        op.add_column("note", sa.Column("space_id", sa.Integer(), sa.ForeignKey("space.id")))
    false = sa.false()
    op.add_column(
        "note", sa.Column("is_template", sa.Boolean(), nullable=False, server_default=false)
    )
    for name in ("title", "excerpt"):
        op.add_column("note", sa.Column(name, sa.String(200), nullable=False, server_default=""))
    op.add_column(
        "note", sa.Column("summary_head", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("note", sa.Column("edited_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE note SET edited_at = updated_at")
    op.create_index("ix_note_space_edited", "note", ["space_id", "edited_at"])
    op.create_index("ix_note_space_title", "note", ["space_id", sa.text("lower(title)")])


def _tags() -> None:
    op.create_table(
        "note_tag",
        sa.Column(
            "note_id",
            sa.Integer(),
            sa.ForeignKey("note.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(100), primary_key=True),
        sa.Column("space_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_note_tag_space_tag", "note_tag", ["space_id", "tag"])


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
