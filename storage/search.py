"""Searching a set of notes in the database's own index: ranked hits with snippets.

The index is the database's own (migration 0006): FTS5 tables on SQLite, a
``tsvector`` with a GIN index on PostgreSQL. ``search_note`` holds each note's
title and body as of a log position; ``search_removed`` what each version
removed from the one before it. :mod:`storage.indexing` writes them.

Ranking: SQLite's bm25, the title weighing four times the body. PostgreSQL's
``ts_rank`` on each note's small ranking vector (its title, weighing most, and
its first words: migration 0008), so that a word in a thousand notes is ranked
without reading a thousand 12 KB vectors. Hits that rank alike (on PostgreSQL,
all whose words are only further down) come most recently edited first. A
query matching more than ``BROAD`` of the notes searched is not ranked.

Reading never trusts the index for what it cannot know: a deleted note is
filtered by ``note.deleted_at`` at query time (it vanishes at once and comes
back with undelete), and removed text that the note's current text matches
again is not reported as deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlmodel import Session

from storage.models import as_utc
from storage.searchtext import Query, Snippet, highlights, parse, snippet
from storage.sql import by_index

TITLE_WEIGHT = 4.0  # bm25: a word in the title counts as much as four in the body
BROAD = 1000
"""A query whose words are in more of the notes searched than this is *broad*, and
not ranked: its hits are the notes with every word in their title, then the
others, each most recently edited first. Ranking every match was most of such a
search's time (bm25 over 10,000 notes of 10 KB: 65-130 ms; ``ts_rank`` over
10,000 small vectors, 25-30 ms: bench/SEARCH.md), and words in a tenth of the
notes or more say little of which note is wanted; a title still does."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a note's current text, or text one of its versions removed."""

    note_id: int
    title: str
    title_highlights: tuple[tuple[int, int], ...]
    snippet: Snippet
    rank: float  # lower is better, within current hits and within deleted ones
    deleted: bool = False
    version: int | None = None  # deleted text: a version that still has it
    removed_by: str | None = None
    removed_at: datetime | None = None


# -- searching --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Space:
    """Every note of the space ``id``: filtered by the notes' own column, not a list of
    ids (a space of 10,000 notes sent its ids as a parameter of 50 KB, and SQLite read
    them back through ``json_each``)."""

    id: int


Notes = Sequence[int] | Space
"""The notes searched: a list of ids, or every note of a space."""


def search(
    session: Session,
    *,
    note_ids: Notes,
    query: str,
    deleted: bool = False,
    limit: int = 20,
) -> list[Hit]:
    """The notes among ``note_ids`` that match ``query``, best first; deleted text after.

    With ``deleted``, up to ``limit`` more hits are text that a version removed
    (:func:`search_removed`). A deleted note has no hits.
    """
    hits = search_current(session, note_ids=note_ids, query=query, limit=limit)
    if deleted:
        hits += search_removed(session, note_ids=note_ids, query=query, limit=limit)
    return hits


def search_current(session: Session, *, note_ids: Notes, query: str, limit: int = 20) -> list[Hit]:
    """The notes among ``note_ids`` whose current text matches ``query``, best first."""
    parsed = parse(query)
    if parsed is None or not note_ids or limit < 1:
        return []
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    scope, params = _scope(note_ids, postgres)
    params |= {"match": parsed.tsquery() if postgres else parsed.fts5(), "limit": limit}
    with by_index(connection):
        if postgres:  # one statement: matching a word in 10,000 notes is PostgreSQL's dearest
            sql = _postgres_space(scope) if isinstance(note_ids, Space) else _postgres_ranked(scope)
            rows = connection.execute(sql, params | {"broad": BROAD}).all()
            ranked = [(note, rank) for note, rank, part in rows if part == 0]
            ranked += _broad_order([(n, p) for n, _, p in rows if p], limit)
        elif _broad(connection, note_ids, scope, params):
            params |= {"title": parsed.fts5(title=True), "more": 2 * limit}
            ranked = _broad_order(connection.execute(_sqlite_broad(scope), params).all(), limit)
        else:
            rows = connection.execute(_current_sql(scope), params).all()
            ranked = [(note, rank) for note, rank in rows]
    return _current_hits(connection, parsed, ranked)


def search_removed(session: Session, *, note_ids: Notes, query: str, limit: int = 20) -> list[Hit]:
    """Text removed from the notes among ``note_ids`` that matches ``query``, best first.

    One hit per note (its best), and none for a note whose current text matches
    the query: words that are back are not reported as deleted.
    """
    parsed = parse(query)
    if parsed is None or not note_ids or limit < 1:
        return []
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    scope, params = _scope(note_ids, postgres)
    params |= {"match": parsed.tsquery() if postgres else parsed.fts5(), "limit": limit * 3}
    with by_index(connection):
        found = connection.execute(_removed_sql(postgres, scope), params).all()
    return _removed_hits(connection, parsed, found, limit)


def _scope(note_ids: Notes, postgres: bool) -> tuple[str, dict[str, Any]]:
    """The SQL that keeps a row's ``note`` among the notes searched.

    The ids go as one parameter (an array; a JSON list on SQLite): expanding
    10,000 of them into as many bound parameters took SQLAlchemy longer than
    the search.
    """
    if isinstance(note_ids, Space):
        return "note.space_id = :space", {"space": note_ids.id}
    if postgres:
        return "note.id = ANY(:ids)", {"ids": list(note_ids)}
    return "note.id IN (SELECT value FROM json_each(:ids))", {"ids": json.dumps(list(note_ids))}


# PostgreSQL: the notes whose vector matches, by the GIN index alone (see storage.sql.by_index).
_MATCHED = (
    "WITH matched AS MATERIALIZED (SELECT note_id FROM search_note"
    " WHERE tsv @@ to_tsquery('simple', :match))"
)


def _current_sql(scope: str) -> Any:
    """SQLite: the best ``:limit`` notes matching ``:match``."""
    return text(
        f"SELECT search_note_fts.rowid, bm25(search_note_fts, {TITLE_WEIGHT}, 1.0) AS rank"
        " FROM search_note_fts JOIN note ON note.id = search_note_fts.rowid"
        f" WHERE search_note_fts MATCH :match AND {scope} AND note.deleted_at IS NULL"
        " ORDER BY rank, note.updated_at DESC LIMIT :limit"
    )


def _broad(connection: Connection, note_ids: Notes, scope: str, params: dict[str, Any]) -> bool:
    """SQLite: whether more than ``BROAD`` of the notes searched match (one row past
    it is read; the index first: note first, SQLite asked the index once a note)."""
    if not isinstance(note_ids, Space) and len(note_ids) <= BROAD:
        return False
    probe = text(
        "SELECT 1 FROM search_note_fts CROSS JOIN note ON note.id = search_note_fts.rowid"
        f" WHERE search_note_fts MATCH :match AND {scope} AND note.deleted_at IS NULL"
        " LIMIT 1 OFFSET :broad"
    )
    return connection.execute(probe, params | {"broad": BROAD}).first() is not None


def _sqlite_broad(scope: str) -> Any:
    """SQLite, a broad query: rows ``(note, part)``, the ``:more`` most recently edited
    notes with every word in their title (``:title``, part 1), then of all that match
    (part 2). Walked from the latest edit (``ix_note_space_edited``): no rank read."""
    recent = (
        "SELECT * FROM (SELECT note.id, {part} FROM note WHERE note.id IN"
        " (SELECT rowid FROM search_note_fts WHERE search_note_fts MATCH :{match})"
        f" AND {scope} AND note.deleted_at IS NULL"
        " ORDER BY note.edited_at DESC, note.id DESC LIMIT :more)"
    )
    titled = recent.format(part=1, match="title")
    return text(f"{titled} UNION ALL {recent.format(part=2, match='match')}")


def _postgres_ranked(scope: str) -> Any:
    """PostgreSQL: the notes matching ``:match`` among those searched, once, then rows
    ``(note, rank, part)``: part 0, the best ``:limit`` by ``ts_rank`` if they are not
    more than ``:broad``; else the ``:limit`` most recently edited with every word in
    their title (the weight-A words, through their own index: migration 0013), part
    1, and of all, part 2."""
    recent = (
        "(SELECT scoped.id, 0.0, {part} FROM scoped WHERE (SELECT yes FROM broad){title}"
        " ORDER BY scoped.edited_at DESC, scoped.id DESC LIMIT 2 * :limit)"
    )
    titled = (
        " AND scoped.id IN (SELECT note_id FROM search_note"
        " WHERE ts_filter(rank_tsv, '{a}') @@ to_tsquery('simple', :match))"
    )
    return text(
        f"{_MATCHED}, scoped AS MATERIALIZED (SELECT note.id, note.updated_at, note.edited_at"
        " FROM matched JOIN note ON note.id = matched.note_id"
        f" WHERE {scope} AND note.deleted_at IS NULL),"
        " broad AS MATERIALIZED (SELECT count(*) > :broad AS yes"
        " FROM (SELECT 1 FROM scoped LIMIT :broad + 1) AS probe)"
        " (SELECT s.note_id, -ts_rank(s.rank_tsv, to_tsquery('simple', :match)) AS rank, 0"
        " FROM scoped JOIN search_note AS s ON s.note_id = scoped.id"
        " WHERE NOT (SELECT yes FROM broad) ORDER BY rank, scoped.updated_at DESC LIMIT :limit)"
        f" UNION ALL {recent.format(part=1, title=titled)}"
        f" UNION ALL {recent.format(part=2, title='')}"
    )


def _postgres_space(scope: str) -> Any:
    """PostgreSQL, a space: :func:`_postgres_ranked`'s rows, a broad query's walked
    from the space's latest edit (``ix_note_space_edited``) until enough match, not
    sorted from all its matches: 17-22 ms against 37-47 for 10,000 notes.

    ``note.id + 0``: on ``note.id`` itself the planner used the primary key's index
    for the 10,000 ids matched, and sorted them all. The array is read whole for
    each note walked: about 2 x ``:limit`` over the share that matches are walked
    (40 x 10,000 comparisons in a space of 10,000), all of the space's notes when
    its matches are its oldest (10,000 x 1,001 at worst there)."""

    recent = (
        "(SELECT note.id, 0.0, {part} FROM {notes} WHERE (SELECT yes FROM broad)"
        f" AND {scope} AND note.deleted_at IS NULL{{matches}}"
        " ORDER BY note.edited_at DESC, note.id DESC LIMIT {limit})"
    )
    titled = "titled JOIN note ON note.id = titled.note_id"
    matched = " AND note.id + 0 = ANY(ARRAY(SELECT note_id FROM matched))"
    return text(
        f"{_MATCHED}, broad AS MATERIALIZED (SELECT count(*) > :broad AS yes FROM"
        " (SELECT 1 FROM matched JOIN note ON note.id = matched.note_id"
        f" WHERE {scope} AND note.deleted_at IS NULL LIMIT :broad + 1) AS probe),"
        " titled AS MATERIALIZED (SELECT note_id FROM search_note"
        " WHERE ts_filter(rank_tsv, '{a}') @@ to_tsquery('simple', :match))"
        " (SELECT s.note_id, -ts_rank(s.rank_tsv, to_tsquery('simple', :match)) AS rank, 0"
        " FROM matched JOIN note ON note.id = matched.note_id"
        " JOIN search_note AS s ON s.note_id = matched.note_id"
        f" WHERE NOT (SELECT yes FROM broad) AND {scope} AND note.deleted_at IS NULL"
        " ORDER BY rank, note.updated_at DESC LIMIT :limit)"
        " UNION ALL "
        + recent.format(part=1, notes=titled, matches="", limit=":limit")
        + " UNION ALL "
        + recent.format(part=2, notes="note", matches=matched, limit="2 * :limit")
    )


def _broad_order(rows: Sequence[Any], limit: int) -> list[tuple[int, float]]:
    """A broad query's hits from rows ``(note, part)``: the title matches, then the
    others, each most recently edited first, with rank 0 (as good as any)."""
    ordered = sorted(rows, key=lambda row: row[1])  # stable: the edit order is kept
    notes = dict.fromkeys(int(note) for note, _ in ordered)  # a title match is met twice
    return [(note, 0.0) for note in list(notes)[:limit]]


def _removed_sql(postgres: bool, scope: str) -> Any:
    if postgres:
        sql = (
            f"{_MATCHED} SELECT r.id, r.note_id, -ts_rank(r.tsv, to_tsquery('simple', :match))"
            " AS rank FROM search_removed AS r JOIN note ON note.id = r.note_id"
            " WHERE r.tsv @@ to_tsquery('simple', :match)"
            f" AND {scope} AND note.deleted_at IS NULL"
            " AND r.note_id NOT IN (SELECT note_id FROM matched)"
            " ORDER BY rank LIMIT :limit"
        )
    else:
        sql = (
            "SELECT r.id, r.note_id, bm25(search_removed_fts) AS rank FROM search_removed_fts"
            " JOIN search_removed AS r ON r.id = search_removed_fts.rowid"
            " JOIN note ON note.id = r.note_id"
            f" WHERE search_removed_fts MATCH :match AND {scope} AND note.deleted_at IS NULL"
            " AND r.note_id NOT IN"
            " (SELECT rowid FROM search_note_fts WHERE search_note_fts MATCH :match)"
            " ORDER BY rank LIMIT :limit"
        )
    return text(sql)


def _current_hits(connection: Connection, query: Query, ranked: Sequence[Any]) -> list[Hit]:
    if not ranked:
        return []
    rows = connection.execute(
        text("SELECT note_id, title, body FROM search_note WHERE note_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": [note for note, _ in ranked]},
    )
    texts = {int(note): (title, body) for note, title, body in rows}
    hits = []
    for note, rank in ranked:
        title, body = texts[int(note)]
        hits.append(
            Hit(int(note), title, highlights(title, query), snippet(body, query), float(rank))
        )
    return hits


def _removed_hits(
    connection: Connection, query: Query, found: Sequence[Any], limit: int
) -> list[Hit]:
    best: dict[int, tuple[int, float]] = {}  # note -> its best row
    for row_id, note, rank in found:
        best.setdefault(int(note), (int(row_id), float(rank)))
    chosen = list(best.items())[:limit]
    if not chosen:
        return []
    rows = connection.execute(
        text(
            "SELECT r.id, r.version_id, r.removed_text, r.removed_by, r.removed_at, s.title"
            " FROM search_removed AS r LEFT JOIN search_note AS s ON s.note_id = r.note_id"
            " WHERE r.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": [row_id for row_id, _ in best.values()]},
    )
    details = {int(row[0]): row[1:] for row in rows}
    hits = []
    for note, (row_id, rank) in chosen:
        version, removed, by, at, title = details[row_id]
        hits.append(
            Hit(
                note,
                title or "",
                highlights(title or "", query),
                snippet(removed, query),
                rank,
                deleted=True,
                version=int(version),
                removed_by=by,
                removed_at=as_utc(at),
            )
        )
    return hits
