"""The open auto version grows in its note's row: ``note.session_*``.

A commit already rewrites the note's row (its head); growing the current
session's version there too, instead of in the version's own row, is one
statement and two written pages fewer per commit. The version's row gets its
figures when the session ends. Each note's latest auto version that is not
sealed becomes its open session, so editing carries on in it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LATEST_AUTO = (
    "SELECT v.id FROM version AS v WHERE v.note_id = note.id AND v.kind = 'auto'"
    " ORDER BY v.position DESC, v.id DESC LIMIT 1"
)


def upgrade() -> None:
    with op.batch_alter_table("note") as note:
        note.add_column(sa.Column("session_version", sa.Integer(), nullable=True))
        note.add_column(
            sa.Column("session_added", sa.Integer(), nullable=False, server_default="0")
        )
        note.add_column(
            sa.Column("session_removed", sa.Integer(), nullable=False, server_default="0")
        )
        note.add_column(sa.Column("session_last_at", sa.DateTime(), nullable=True))
    op.execute(f"UPDATE note SET session_version = ({_LATEST_AUTO})")
    op.execute(
        "UPDATE note SET session_version = NULL"
        " WHERE session_version IN (SELECT id FROM version WHERE sealed)"
    )
    for column, source in (
        ("session_added", "added"),
        ("session_removed", "removed"),
        ("session_last_at", "created_at"),
    ):
        op.execute(
            f"UPDATE note SET {column} = (SELECT v.{source} FROM version AS v"
            " WHERE v.id = note.session_version) WHERE session_version IS NOT NULL"
        )


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
