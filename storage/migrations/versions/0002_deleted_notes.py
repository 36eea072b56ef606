"""Notes can be deleted and brought back for a while: ``note.deleted_at``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("note", sa.Column("deleted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
