"""A table of restores: who restored which version, and where the restore's own change is.

Undo restore inverts that change alone, and the history shows the restore with
its author. Restores made before this revision have no row: their
before-restore versions can still be restored, not undone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "restore",
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("version.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("restored_id", sa.Integer(), nullable=False),
        sa.Column("restored_kind", sa.String(length=16), nullable=False),
        sa.Column("restored_name", sa.String(length=100), nullable=True),
        sa.Column("restored_at", sa.DateTime(), nullable=False),
        sa.Column("undone_by", sa.String(length=100), nullable=True),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
