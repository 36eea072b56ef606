"""The search index in SQL: writing a note's entry, and searching a set of notes.

The index is the database's own (migration 0006): FTS5 tables on SQLite, a
``tsvector`` with a GIN index on PostgreSQL. ``search_note`` holds each note's
title and body as of a log position; ``search_removed`` what each version
removed from the one before it. Entries are built off the event loop by the
web side (which knows documents and diffs) and written by the store's writer
thread (:meth:`storage.updates.SqlDocumentStore.write_index`), or directly by
``collab-notes reindex``.

Reading never trusts the index for what it cannot know: a deleted note is
filtered by ``note.deleted_at`` at query time (it vanishes at once and comes
back with undelete), and removed text that the note's current text matches
again is not reported as deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Dialect, bindparam, text
from sqlmodel import Session

from storage.models import as_utc
from storage.searchtext import Query, Snippet, folded_words, highlights, parse, snippet
from storage.sql import Statement

TITLE_WEIGHT = 4.0  # bm25: a word in the title counts as much as four in the body


@dataclass(frozen=True, slots=True)
class Removal:
    """Text that version ``removed_in`` removed from version ``version`` (which has it)."""

    version: int
    removed_in: int
    text: str  # empty: nothing (left) to index for ``removed_in``
    by: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """A note's index entry as of log position ``position``."""

    note: int
    position: int
    title: str
    body: str
    versions_upto: int  # the last closed version whose removals are in ``removals`` or before
    removals: tuple[Removal, ...] = ()
    replace: bool = False  # rebuild: drop what the index holds for the note first


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


# -- writing (a raw DBAPI cursor: the writer thread's, or reindex's) ------------------------


class IndexStatements:
    """The statements that write index entries, compiled once for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = dialect.name == "postgresql"
        vector = ", tsv" if self.postgres else ""
        note_vector = (
            ", setweight(to_tsvector('simple', :ftitle), 'A')"
            " || setweight(to_tsvector('simple', :fbody), 'B')"
            if self.postgres
            else ""
        )
        removed_vector = ", to_tsvector('simple', :ftext)" if self.postgres else ""
        keep = ", tsv = excluded.tsv" if self.postgres else ""
        moment = bindparam("now", type_=DateTime())
        self.upsert_note = _compiled(
            dialect,
            "INSERT INTO search_note (note_id, position, versions_upto, title, body, indexed_at"
            f"{vector}) VALUES (:note, :position, :upto, :title, :body, :now{note_vector})"
            " ON CONFLICT (note_id) DO UPDATE SET position = excluded.position,"
            " versions_upto = excluded.versions_upto, title = excluded.title,"
            f" body = excluded.body, indexed_at = excluded.indexed_at{keep}"
            " WHERE excluded.position > search_note.position"
            " OR (excluded.position = search_note.position"
            " AND excluded.versions_upto > search_note.versions_upto)",
            moment,
        )
        self.upsert_removal = _compiled(
            dialect,
            "INSERT INTO search_removed (note_id, version_id, removed_in, removed_text,"
            f" removed_by, removed_at{vector}) VALUES (:note, :version, :removed_in, :text,"
            f" :by, :at{removed_vector}) ON CONFLICT (removed_in) DO UPDATE SET"
            " version_id = excluded.version_id, removed_text = excluded.removed_text,"
            f" removed_by = excluded.removed_by, removed_at = excluded.removed_at{keep}",
            bindparam("at", type_=DateTime()),
        )
        self.drop_removal = _compiled(dialect, "DELETE FROM search_removed WHERE removed_in = :v")
        self.drop_note = _compiled(dialect, "DELETE FROM search_note WHERE note_id = :note")
        self.drop_removals = _compiled(dialect, "DELETE FROM search_removed WHERE note_id = :note")
        self.position_of = _compiled(
            dialect, "SELECT position FROM search_note WHERE note_id = :note"
        )


def _compiled(dialect: Dialect, sql: str, *binds: Any) -> Statement:
    return Statement.compile(text(sql).bindparams(*binds), dialect)


def write_entry(cursor: Any, sql: IndexStatements, entry: IndexEntry, now: datetime) -> bool:
    """Write ``entry`` unless the index already holds a later one; True if written."""
    run = _runner(cursor)
    if entry.replace:
        run(sql.drop_removals, note=entry.note)
        run(sql.drop_note, note=entry.note)
    else:
        found = run(sql.position_of, note=entry.note).fetchone()
        if found is not None and found[0] > entry.position:
            return False  # a later entry is there already (another process's)
    fields: dict[str, Any] = {}
    if sql.postgres:
        fields = {"ftitle": folded_words(entry.title), "fbody": folded_words(entry.body)}
    run(
        sql.upsert_note,
        note=entry.note,
        position=entry.position,
        upto=entry.versions_upto,
        title=entry.title,
        body=entry.body,
        now=now,
        **fields,
    )
    for removal in entry.removals:
        if not removal.text:
            run(sql.drop_removal, v=removal.removed_in)
            continue
        extra = {"ftext": folded_words(removal.text)} if sql.postgres else {}
        run(
            sql.upsert_removal,
            note=entry.note,
            version=removal.version,
            removed_in=removal.removed_in,
            text=removal.text,
            by=removal.by,
            at=removal.at,
            **extra,
        )
    return True


def _runner(cursor: Any) -> Any:
    def run(statement: Statement, **values: Any) -> Any:
        cursor.execute(statement.text, statement.bind(**values))
        return cursor

    return run


# -- what needs indexing --------------------------------------------------------------------


def behind(connection: Connection, *, limit: int) -> list[tuple[int, int]]:
    """Notes whose index is behind their head, as (note, head), oldest note first."""
    rows = connection.execute(
        text(
            "SELECT note.id, note.head FROM note LEFT JOIN search_note s ON s.note_id = note.id"
            " WHERE note.head > coalesce(s.position, 0) ORDER BY note.id LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [(int(note), int(head)) for note, head in rows]


def indexed(connection: Connection, note: int) -> tuple[int, int] | None:
    """The note's indexed position and ``versions_upto``, or None if it has no entry."""
    row = connection.execute(
        text("SELECT position, versions_upto FROM search_note WHERE note_id = :note"),
        {"note": note},
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def versions(connection: Connection, note: int) -> tuple[list[tuple[int, int]], int | None]:
    """The note's versions as (id, position) in order, and the open one's id.

    The open auto version stands at the note's head (its row's position is where
    it began); so it is listed there.
    """
    row = connection.execute(
        text("SELECT head, session_version FROM note WHERE id = :note"), {"note": note}
    ).fetchone()
    if row is None:
        return [], None
    head, open_version = int(row[0]), row[1]
    found = connection.execute(
        text("SELECT id, position FROM version WHERE note_id = :note"), {"note": note}
    )
    listed = [(int(v), head if v == open_version else int(p)) for v, p in found]
    listed.sort(key=lambda version: (version[1], version[0]))
    return listed, None if open_version is None else int(open_version)


def last_removal(
    connection: Connection, note: int, after: int, upto: int
) -> tuple[str | None, datetime] | None:
    """Who made the last deletion in the log positions ``(after, upto]``, and when."""
    row = connection.execute(
        text(
            "SELECT author, committed_at FROM update_log WHERE note_id = :note"
            " AND position > :after AND position <= :upto AND removed > 0"
            " ORDER BY position DESC LIMIT 1"
        ),
        {"note": note, "after": after, "upto": upto},
    ).fetchone()
    return None if row is None else (row[0], as_utc(row[1]))


# -- searching --------------------------------------------------------------------------------


def search(
    session: Session,
    *,
    note_ids: Sequence[int],
    query: str,
    deleted: bool = False,
    limit: int = 20,
) -> list[Hit]:
    """The notes among ``note_ids`` that match ``query``, best first; deleted text after.

    With ``deleted``, up to ``limit`` more hits are text that a version removed
    (:func:`search_removed`). A deleted note has no hits. (A variant for a space
    would filter through a subquery on the notes' space in :func:`_scope`
    instead of a list of ids.)
    """
    hits = search_current(session, note_ids=note_ids, query=query, limit=limit)
    if deleted:
        hits += search_removed(session, note_ids=note_ids, query=query, limit=limit)
    return hits


def search_current(
    session: Session, *, note_ids: Sequence[int], query: str, limit: int = 20
) -> list[Hit]:
    """The notes among ``note_ids`` whose current text matches ``query``, best first."""
    parsed = parse(query)
    if parsed is None or not note_ids or limit < 1:
        return []
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    scope, params = _scope(note_ids)
    params |= {"match": parsed.tsquery() if postgres else parsed.fts5(), "limit": limit}
    ranked = connection.execute(_current_sql(postgres, scope), params).all()
    return _current_hits(connection, parsed, ranked)


def search_removed(
    session: Session, *, note_ids: Sequence[int], query: str, limit: int = 20
) -> list[Hit]:
    """Text removed from the notes among ``note_ids`` that matches ``query``, best first.

    One hit per note (its best), and none for a note whose current text matches
    the query: words that are back are not reported as deleted.
    """
    parsed = parse(query)
    if parsed is None or not note_ids or limit < 1:
        return []
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    scope, params = _scope(note_ids)
    params |= {"match": parsed.tsquery() if postgres else parsed.fts5(), "limit": limit * 3}
    found = connection.execute(_removed_sql(postgres, scope), params).all()
    return _removed_hits(connection, parsed, found, limit)


def _scope(note_ids: Sequence[int]) -> tuple[str, dict[str, Any]]:
    """The SQL that keeps a row's ``note.id`` among the notes searched."""
    return "note.id IN :ids", {"ids": list(note_ids)}


def _current_sql(postgres: bool, scope: str) -> Any:
    if postgres:
        sql = (
            "SELECT s.note_id, -ts_rank(s.tsv, q.query) AS rank FROM search_note AS s"
            " JOIN note ON note.id = s.note_id"
            " CROSS JOIN to_tsquery('simple', :match) AS q(query)"
            f" WHERE s.tsv @@ q.query AND {scope} AND note.deleted_at IS NULL"
            " ORDER BY rank LIMIT :limit"
        )
    else:
        sql = (
            f"SELECT search_note_fts.rowid, bm25(search_note_fts, {TITLE_WEIGHT}, 1.0) AS rank"
            " FROM search_note_fts JOIN note ON note.id = search_note_fts.rowid"
            f" WHERE search_note_fts MATCH :match AND {scope} AND note.deleted_at IS NULL"
            " ORDER BY rank LIMIT :limit"
        )
    return text(sql).bindparams(bindparam("ids", expanding=True))


def _removed_sql(postgres: bool, scope: str) -> Any:
    if postgres:
        sql = (
            "SELECT r.id, r.note_id, -ts_rank(r.tsv, q.query) AS rank FROM search_removed AS r"
            " JOIN note ON note.id = r.note_id"
            " CROSS JOIN to_tsquery('simple', :match) AS q(query)"
            f" WHERE r.tsv @@ q.query AND {scope} AND note.deleted_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM search_note AS s"
            " WHERE s.note_id = r.note_id AND s.tsv @@ q.query)"
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
    return text(sql).bindparams(bindparam("ids", expanding=True))


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
