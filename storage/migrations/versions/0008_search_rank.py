"""PostgreSQL ranks search hits by a small vector: a note's title and its first words.

``search_note.rank_tsv`` holds the title (weight A) and the first
``storage.indexing.LEAD_WORDS`` words of the body (weight B), about 1 KB, kept in
the row (storage ``MAIN``); ``tsv`` (every word) still matches, through its GIN
index. Ranking by ``tsv`` read each hit's 12 KB vector out of line (TOAST):
100-250 ms for a word in a thousand notes. Rows indexed before this revision get
their ranking vector here, from the text they hold, folded as the indexer folds
it. SQLite (FTS5's bm25 ranks from the index itself) has nothing to change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from storage.indexing import lead
from storage.searchtext import folded_words

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHUNK = 500  # rows read at a time: 10,000 notes of 10 KB are 100 MB of text


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.add_column("search_note", sa.Column("rank_tsv", TSVECTOR(), nullable=True))
    op.execute("ALTER TABLE search_note ALTER COLUMN rank_tsv SET STORAGE MAIN")
    fill = sa.text(
        "UPDATE search_note SET rank_tsv = setweight(to_tsvector('simple', :ftitle), 'A')"
        " || setweight(to_tsvector('simple', :flead), 'B') WHERE note_id = :note"
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT note_id, title, body FROM search_note WHERE note_id > :after"
                " ORDER BY note_id LIMIT :chunk"
            ),
            {"after": after, "chunk": CHUNK},
        ).all()
        if not rows:
            break
        bind.execute(
            fill,
            [
                {"note": note, "ftitle": folded_words(title), "flead": lead(folded_words(body))}
                for note, title, body in rows
            ],
        )
        after = rows[-1][0]
    op.alter_column("search_note", "rank_tsv", nullable=False)


def downgrade() -> None:
    raise NotImplementedError("collab-notes migrations only go forward; restore a backup")
