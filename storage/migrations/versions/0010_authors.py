"""Who wrote what: runs of a note's Yjs items with their author, built from the log.

``author_run`` holds, per note, ranges of one Yjs client's clocks with the name
the log gives them and the first and last time they were typed;
``author_mark`` says up to which log position the runs go. Both are a cache of
the log (``storage/attribution.py`` extends them when they are read), so notes
written before this revision get theirs on first use, from the rows their log
still holds.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "author_run",
        sa.Column(
            "note_id",
            sa.Integer(),
            sa.ForeignKey("note.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("start", sa.Integer(), primary_key=True),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=True),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_table(
        "author_mark",
        sa.Column(
            "note_id",
            sa.Integer(),
            sa.ForeignKey("note.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
