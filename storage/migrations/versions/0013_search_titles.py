"""PostgreSQL finds the notes whose title has a query's words through an index.

A broad query (``storage.search.BROAD``: its words in more than 1,000 of the
notes searched) lists first the notes with every word in their title. The
title's words are the weight-A lexemes of ``search_note.rank_tsv`` (migration
0008); this GIN index of ``ts_filter(rank_tsv, '{a}')`` finds them without
reading every match's row. SQLite (FTS5 filters by column from its own index)
has nothing to change.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_search_note_title ON search_note USING gin (ts_filter(rank_tsv, '{a}'))"
    )


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
