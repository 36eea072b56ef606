"""The tables of the first release (0.1): notes, an update log, one snapshot per note.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("edit_token", sa.String(64), nullable=False),
        sa.Column("view_token", sa.String(64), nullable=False),
    )
    op.create_index("ix_note_edit_token", "note", ["edit_token"], unique=True)
    op.create_index("ix_note_view_token", "note", ["view_token"], unique=True)
    op.create_table(
        "update_log",
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column(
            "note_id", sa.Integer(), sa.ForeignKey("note.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_update_log_note_id", "update_log", ["note_id"])
    op.create_table(
        "snapshot",
        sa.Column(
            "note_id",
            sa.Integer(),
            sa.ForeignKey("note.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("upto_seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
