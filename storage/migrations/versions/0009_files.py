"""Files uploaded to notes: their bytes stored once (``file_blob``), and which note has which.

``file_blob`` is keyed by the SHA-256 of the bytes stored, so the same file
uploaded twice, to one note or to several, is stored once. ``note_file`` says
which note has which file (under the name it was uploaded with); a note's links
read only its own files. Purging a note removes its rows (ON DELETE CASCADE);
the blobs no row refers to any more are deleted with them (``storage.files``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_blob",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "note_file",
        sa.Column(
            "note_id",
            sa.Integer(),
            sa.ForeignKey("note.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("file_id", sa.String(length=64), sa.ForeignKey("file_blob.id"), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    # Collecting blobs asks, for each, whether any note still has it.
    op.create_index("ix_note_file_file_id", "note_file", ["file_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Out of line, never compressed: images and PDFs are compressed already, and
        # PostgreSQL's pglz would read each one for nothing.
        op.execute("ALTER TABLE file_blob ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
