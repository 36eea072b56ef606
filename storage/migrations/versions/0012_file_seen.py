"""Files collected by the history window: when each note last named each of its files.

``note_file.seen_at`` is when the note's text, or one of its versions, was last
seen naming the file (``storage/file_retention.py``); an upload counts as seen.
Rows made before this revision start from their upload's time, so the first purge
after the upgrade reads the notes whose files are older than the window once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: SQLite adds no NOT NULL column without a constant default, and a batch
    # copy reflects the tables. Every row is written with it, and NULL is never due.
    op.add_column("note_file", sa.Column("seen_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE note_file SET seen_at = created_at")
    # The purge asks for the files not seen since the window's start.
    op.create_index("ix_note_file_seen_at", "note_file", ["seen_at"])


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
