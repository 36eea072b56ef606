"""Writing the search index: a note's entry, and finding notes whose entry is behind.

Entries are built off the event loop by the web side (which knows documents and
diffs: ``web.searchindex``) and written by the store's writer thread
(:meth:`storage.updates.SqlDocumentStore.write_index`), or directly by
``collab-notes reindex``. On PostgreSQL the text is folded in Python
(:func:`storage.searchtext.folded_words`) and indexed with the ``simple``
configuration, in two vectors (migration 0008): ``tsv``, every word, which
matches, and ``rank_tsv``, the title and the first ``LEAD_WORDS`` words of the
body, which ranks; :func:`with_vectors` makes both on the indexer's own
connection, so that the writer only copies them in. On SQLite, FTS5 triggers
index what ``search_note`` and ``search_removed`` hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Dialect, bindparam, text

from collab.document import title_of
from collab.frontmatter import clean_value, split_front_matter
from storage.models import as_utc
from storage.searchtext import folded_words
from storage.sql import Statement

LEAD_WORDS = 100
"""Words of a note's body, from its start, that its ranking vector holds (PostgreSQL).

Ranking read each hit's whole vector, about 12 KB for 10 KB of text and so stored
out of line (TOAST): 100-250 ms for a word in a thousand notes. The title and a
hundred words (about 1 KB) stay in the row."""

# PostgreSQL's vectors, from text folded in Python: weight A for the title, B for the body.
_MATCH_VECTOR = (
    "setweight(to_tsvector('simple', :ftitle), 'A')"
    " || setweight(to_tsvector('simple', :fbody), 'B')"
)
_RANK_VECTOR = (
    "setweight(to_tsvector('simple', :ftitle), 'A')"
    " || setweight(to_tsvector('simple', :flead), 'B')"
)


@dataclass(frozen=True, slots=True)
class Removal:
    """Text that version ``removed_in`` removed from version ``version`` (which has it)."""

    version: int
    removed_in: int
    text: str  # empty: nothing (left) to index for ``removed_in``
    by: str | None
    at: datetime
    vector: str | None = None  # PostgreSQL: the text's tsvector, made (:func:`with_vectors`)


@dataclass(frozen=True, slots=True)
class Vectors:
    """A note's two PostgreSQL vectors, as tsvector text: every word, and the ranking one."""

    match: str
    rank: str


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
    vectors: Vectors | None = None  # PostgreSQL: made already (else made as it is written)


def split_title(text: str) -> tuple[str, str]:
    """A note's title (as the app shows it: :func:`collab.document.title_of`) and its body.

    A front matter's ``title`` names the note and the text after the front matter
    is the body; otherwise the title is the first non-empty line.
    """
    front, body = split_front_matter(text)
    if clean_value(front.get("title", "")):
        return title_of(text), body
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if line.strip():
            return title_of(line), "\n".join(lines[index + 1 :])
    return "", ""


def lead(folded_body: str) -> str:
    """The first ``LEAD_WORDS`` words of a folded body: what ranks it besides its title."""
    return " ".join(folded_body.split(" ", LEAD_WORDS)[:LEAD_WORDS])


def with_vectors(connection: Connection, entry: IndexEntry) -> IndexEntry:
    """``entry`` with its PostgreSQL vectors, made on ``connection`` (an entry on SQLite).

    ``to_tsvector`` on 10 KB of text took PostgreSQL 3-14 ms: made on the
    indexer's own connection, the writer's transaction (which keystrokes wait
    for) only copies the vectors in, and can take several entries at once.
    """
    if connection.dialect.name != "postgresql":
        return entry
    ftitle, fbody = folded_words(entry.title), folded_words(entry.body)
    match, rank = connection.execute(
        text(f"SELECT CAST({_MATCH_VECTOR} AS text), CAST({_RANK_VECTOR} AS text)"),
        {"ftitle": ftitle, "fbody": fbody, "flead": lead(fbody)},
    ).one()
    removed = [folded_words(removal.text) for removal in entry.removals]
    made = list(
        connection.execute(
            text(
                "SELECT CAST(to_tsvector('simple', t) AS text)"
                " FROM unnest(CAST(:texts AS text[])) WITH ORDINALITY AS u(t, i) ORDER BY i"
            ),
            {"texts": removed},
        ).scalars()
        if removed
        else []
    )
    removals = tuple(replace(r, vector=v) for r, v in zip(entry.removals, made, strict=True))
    return replace(entry, vectors=Vectors(match, rank), removals=removals)


# -- writing (a raw DBAPI cursor: the writer thread's, or reindex's) ------------------------


class IndexStatements:
    """The statements that write index entries, compiled once for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        # Over 40 lines: one declaration per statement, each compiled once, here.
        self.postgres = dialect.name == "postgresql"
        # PostgreSQL: a vector made already, else made here (coalesce evaluates lazily).
        vector = ", tsv" if self.postgres else ""
        note_vectors = ", tsv, rank_tsv" if self.postgres else ""
        made = (
            f", coalesce(CAST(:tsv AS tsvector), {_MATCH_VECTOR}),"
            f" coalesce(CAST(:rank_tsv AS tsvector), {_RANK_VECTOR})"
            if self.postgres
            else ""
        )
        removed_vector = (
            ", coalesce(CAST(:tsv AS tsvector), to_tsvector('simple', :ftext))"
            if self.postgres
            else ""
        )
        keep = ", tsv = excluded.tsv" if self.postgres else ""
        keep_both = keep + (", rank_tsv = excluded.rank_tsv" if self.postgres else "")
        moment = bindparam("now", type_=DateTime())
        self.upsert_note = _compiled(
            dialect,
            "INSERT INTO search_note (note_id, position, versions_upto, title, body, indexed_at"
            f"{note_vectors}) VALUES (:note, :position, :upto, :title, :body, :now{made})"
            " ON CONFLICT (note_id) DO UPDATE SET position = excluded.position,"
            " versions_upto = excluded.versions_upto, title = excluded.title,"
            f" body = excluded.body, indexed_at = excluded.indexed_at{keep_both}"
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
    fields = _note_vectors(entry) if sql.postgres else {}
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
        extra = _removal_vector(removal) if sql.postgres else {}
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


def _note_vectors(entry: IndexEntry) -> dict[str, Any]:
    """The values of the note's vectors: made already, or the folded text to make them of."""
    if entry.vectors is not None:
        made = {"tsv": entry.vectors.match, "rank_tsv": entry.vectors.rank}
        return made | {"ftitle": None, "fbody": None, "flead": None}
    ftitle, fbody = folded_words(entry.title), folded_words(entry.body)
    return {"tsv": None, "rank_tsv": None, "ftitle": ftitle, "fbody": fbody, "flead": lead(fbody)}


def _removal_vector(removal: Removal) -> dict[str, Any]:
    if removal.vector is not None:
        return {"tsv": removal.vector, "ftext": None}
    return {"tsv": None, "ftext": folded_words(removal.text)}


def _runner(cursor: Any) -> Any:
    def run(statement: Statement, **values: Any) -> Any:
        cursor.execute(statement.text, statement.bind(**values))
        return cursor

    return run


# -- what needs indexing --------------------------------------------------------------------


def behind(connection: Connection, *, limit: int) -> list[tuple[int, int]]:
    """Notes whose index is behind their head, as (note, head), oldest note first."""
    # SQLite looks rows up by their key otherwise, reading pages that hold the text:
    # at 10,000 notes of 10 KB, 17.6 ms a sweep instead of 3.3 ms.
    narrow = " INDEXED BY ix_search_note_position" if connection.dialect.name == "sqlite" else ""
    rows = connection.execute(
        text(
            f"SELECT note.id, note.head FROM note LEFT JOIN search_note AS s{narrow}"
            " ON s.note_id = note.id WHERE note.head > coalesce(s.position, 0)"
            " ORDER BY note.id LIMIT :limit"
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
