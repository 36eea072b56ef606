"""History: the update log is kept, at dense per-note positions, with checkpoints and versions.

Before, compaction folded a note's log into its one snapshot and deleted the
rows. Now every update stays at its position (1, 2, 3... per note, with
``note.head`` the last), with when it was committed, who sent it and how much
it changed; checkpoints hold the whole document at some positions; versions
name positions. What the first release kept becomes the start of each note's
history: its snapshot is the checkpoint at position 0, its logged updates follow.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _note_fk() -> sa.ForeignKey:
    return sa.ForeignKey("note.id", ondelete="CASCADE")


def upgrade() -> None:
    # Over 40 lines: a migration reads best as one script, in the order it runs.
    with op.batch_alter_table("note") as note:
        note.add_column(sa.Column("head", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "update_log_v3",
        sa.Column("note_id", sa.Integer(), _note_fk(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("committed_at", sa.DateTime(), nullable=False),
        sa.Column("author", sa.String(100), nullable=True),
        sa.Column("added", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("removed", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "checkpoint",
        sa.Column("note_id", sa.Integer(), _note_fk(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("note_id", sa.Integer(), _note_fk(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("removed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_version_note_position", "version", ["note_id", "position"])
    op.create_table(
        "version_author",
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("version.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(100), primary_key=True),
    )
    _carry_over(op.get_bind())
    op.drop_table("snapshot")
    op.drop_index("ix_update_log_note_id", "update_log")
    op.drop_table("update_log")
    op.rename_table("update_log_v3", "update_log")


def _carry_over(connection: Any) -> None:
    """Each note's snapshot becomes its checkpoint 0, its logged updates positions 1..n."""
    notes = connection.execute(sa.text("SELECT id, created_at, updated_at FROM note")).all()
    for note_id, created_at, updated_at in notes:
        snapshot = connection.execute(
            sa.text("SELECT data, created_at FROM snapshot WHERE note_id = :n"), {"n": note_id}
        ).first()
        if snapshot is not None:
            connection.execute(
                sa.text(
                    "INSERT INTO checkpoint (note_id, position, data, created_at) "
                    "VALUES (:n, 0, :d, :t)"
                ),
                {"n": note_id, "d": snapshot[0], "t": snapshot[1]},
            )
        rows = connection.execute(
            sa.text("SELECT data FROM update_log WHERE note_id = :n ORDER BY seq"), {"n": note_id}
        ).all()
        if rows:
            connection.execute(
                sa.text(
                    "INSERT INTO update_log_v3 (note_id, position, data, committed_at, added, "
                    "removed) VALUES (:n, :p, :d, :t, 0, 0)"
                ),
                [
                    {"n": note_id, "p": position, "d": row[0], "t": updated_at}
                    for position, row in enumerate(rows, start=1)
                ],
            )
        head = len(rows)
        connection.execute(
            sa.text("UPDATE note SET head = :h WHERE id = :n"), {"h": head, "n": note_id}
        )
        if snapshot is not None or rows:  # its state so far, as one version
            connection.execute(
                sa.text(
                    "INSERT INTO version (note_id, kind, position, first_position, started_at, "
                    "created_at, added, removed) VALUES (:n, 'auto', :h, 0, :s, :t, 0, 0)"
                ),
                {"n": note_id, "h": head, "s": created_at, "t": updated_at},
            )


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
