"""Schema migrations (Alembic): a database of an earlier release upgrades and reads back
identical; a newer one is refused; a current one is only read."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import event, text
from sqlmodel import Session

from collab import document
from storage import notes, spaces
from storage.db import (
    SCHEMA_REVISION,
    SchemaTooNew,
    _alembic_config,
    create_schema,
    make_engine,
    schema_revisions,
)
from storage.search import search
from storage.updates import SqlDocumentStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _first_release_schema() -> str:
    """The tables exactly as the first release made them (user_version 1, before Alembic):
    the statements of its dump (tests/fixtures/release-0.1.sql) that make them, no rows."""
    lines = (FIXTURES / "release-0.1.sql").read_text().splitlines(keepends=True)
    dump = "".join(line for line in lines if not line.startswith("--"))
    kept = ("CREATE ", "PRAGMA user_version")
    return "".join(f"{s.strip()};\n" for s in dump.split(";\n") if s.strip().startswith(kept))


FIRST_RELEASE = _first_release_schema()


def revision_of(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_a_database_of_the_first_release_upgrades_and_every_note_reads_back_identical(
    tmp_path: Path,
) -> None:
    """tests/fixtures/release-0.1.sql is the database the first release's server wrote
    (notes made with content, edited (logged), compacted (a snapshot) and edited after
    it), dumped as SQL; it is made a database file again here."""
    path = tmp_path / "notes.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript((FIXTURES / "release-0.1.sql").read_text())
    expected = json.loads((FIXTURES / "release-0.1.json").read_text())
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    store = SqlDocumentStore(engine)
    with Session(engine) as session:
        for name, note in expected.items():
            found = notes.find_by_token(session=session, token=note["edit_token"])
            assert found is not None and found.id is not None, name
            assert found.view_token == note["view_token"], name
            text = document.text(document.build(store.load_sync(found.id).updates))
            assert text == note["content"], name
    assert revision_of(path) == schema_revisions()[0]
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_schema")}
        versions = db.execute("SELECT count(*) FROM version").fetchone()[0]
    assert "snapshot" not in tables and {"checkpoint", "version"} <= tables
    assert versions == len(expected)  # each note's state so far, as one version
    engine.dispose()


def test_the_first_releases_tables_with_a_log_and_a_snapshot_become_positions(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as db:
        db.executescript(FIRST_RELEASE)
        db.execute(
            "INSERT INTO note VALUES ('2026-01-02 03:04:05', '2026-01-02 03:04:05', 7, 'e', 'v')"
        )
        snapshot = document.initial_update("snapshot ")
        assert snapshot is not None
        db.execute("INSERT INTO snapshot VALUES (7, 40, ?, '2026-01-02 03:04:05')", (snapshot,))
        doc = document.build([snapshot])
        for chunk in ("a", "b"):
            before = doc.get_state()
            text = doc.get(document.TEXT_NAME, type=document.pycrdt.Text)
            text.insert(len(text), chunk)
            db.execute(
                "INSERT INTO update_log (note_id, data) VALUES (7, ?)", (doc.get_update(before),)
            )
    engine = make_engine(f"sqlite:///{db_path}")
    create_schema(engine)
    loaded = SqlDocumentStore(engine).load_sync(7)
    assert document.text(document.build(loaded.updates)) == "snapshot ab"
    assert (loaded.checkpoint, loaded.head, loaded.log_length) == (0, 2, 2)
    engine.dispose()


def test_a_new_database_is_created_at_the_latest_revision(db_path: Path) -> None:
    create_schema(make_engine(f"sqlite:///{db_path}"))
    assert revision_of(db_path) == schema_revisions()[0]
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_at_the_latest_revision_is_only_read(db_path: Path) -> None:
    create_schema(make_engine(f"sqlite:///{db_path}"))
    engine = make_engine(f"sqlite:///{db_path}")
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0])
    )
    create_schema(engine)  # a second start: a server can start on a full disk
    writes = {"INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP"} & set(statements)
    assert statements and not writes, statements
    engine.dispose()


def test_a_database_from_a_newer_release_is_refused(db_path: Path) -> None:
    create_schema(make_engine(f"sqlite:///{db_path}"))
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaTooNew, match="newer than this collab-notes"):
        create_schema(make_engine(f"sqlite:///{db_path}"))


def test_the_revision_a_start_looks_for_is_the_newest_migration() -> None:
    assert schema_revisions()[0] == SCHEMA_REVISION, "bump storage.db.SCHEMA_REVISION"


@pytest.mark.slow
def test_a_database_at_the_newest_revision_starts_without_importing_alembic(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    create_schema(make_engine(url))
    program = (
        "import sys; from storage.db import create_schema, make_engine; "
        f"print(create_schema(make_engine({url!r})), 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert out.stdout.split() == [f"('{SCHEMA_REVISION}',", f"'{SCHEMA_REVISION}')", "False"], (
        out.stderr
    )


def test_an_open_session_of_revision_0003_goes_on_in_its_notes_row(database_url: str) -> None:
    """0004 moves the open auto version's figures into ``note.session_*``: each note's
    latest auto version, unless it is sealed (a note's first content), is its open one."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0003")
        when = datetime(2026, 11, 20, 9, 30)
        with engine.begin() as connection:
            for note in (1, 2, 3):
                connection.execute(
                    text(
                        "INSERT INTO note (id, edit_token, view_token, created_at, updated_at,"
                        " head) VALUES (:id, :e, :v, :t, :t, 3)"
                    ),
                    {"id": note, "e": f"e{note}", "v": f"v{note}", "t": when},
                )
            versions = [  # note, kind, position, added, removed, sealed
                (1, "auto", 1, 10, 0, True),
                (1, "auto", 2, 4, 0, False),
                (1, "named", 3, 0, 0, False),
                (1, "auto", 3, 5, 1, False),
                (2, "auto", 1, 7, 0, True),
            ]
            for note, kind, position, added, removed, sealed in versions:
                connection.execute(
                    text(
                        "INSERT INTO version (note_id, kind, position, first_position,"
                        " started_at, created_at, added, removed, sealed) VALUES (:note, :kind,"
                        " :position, :position, :t, :t, :added, :removed, :sealed)"
                    ),
                    {
                        "note": note,
                        "kind": kind,
                        "position": position,
                        "t": when,
                        "added": added,
                        "removed": removed,
                        "sealed": sealed,
                    },
                )
            [(latest,)] = connection.execute(
                text("SELECT id FROM version WHERE note_id = 1 AND position = 3 AND kind = 'auto'")
            ).all()
        create_schema(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, session_version, session_added, session_removed, session_last_at"
                    " FROM note ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row[:4]) for row in rows] == [(1, latest, 5, 1), (2, None, 0, 0), (3, None, 0, 0)]
    assert str(rows[0][4]).startswith("2026-11-20 09:30")
    assert rows[1][4] is None and rows[2][4] is None


def test_notes_of_revision_0004_keep_their_history_and_are_in_no_space(database_url: str) -> None:
    """0005 adds spaces with plain ADD COLUMNs: a copied note table, dropped, would have
    cascaded to every note's history."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0004")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO note (id, edit_token, view_token, created_at, updated_at, head,"
                    " session_added, session_removed) VALUES (1, 'e', 'v', :t, :t, 1, 0, 0)"
                ),
                {"t": datetime(2026, 12, 1)},
            )
            connection.execute(
                text(
                    "INSERT INTO update_log (note_id, position, data, committed_at, added,"
                    " removed) VALUES (1, 1, :data, :t, 5, 0)"
                ),
                {"data": document.initial_update("hello"), "t": datetime(2026, 12, 1)},
            )
        create_schema(engine)
        with Session(engine) as session:
            space = spaces.create_space(session=session, name="Team")
            assert space.id is not None
            spaces.put_note(session=session, note_id=1, space_id=space.id)
            space_id = space.id
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT space_id, is_template, title, summary_head FROM note")
            ).one()
            logged = connection.execute(text("SELECT count(*) FROM update_log")).scalar()
    finally:
        engine.dispose()
    assert tuple(row) == (space_id, False, "", 0) and logged == 1


def test_notes_indexed_at_revision_0007_rank_by_their_top_words_after_the_upgrade(
    database_url: str,
) -> None:
    """0008 gives each PostgreSQL index entry its ranking vector (title and first words),
    made from the text the entry holds: a word twice deep in a long note no longer
    outranks it at the top of a short one."""
    engine = make_engine(database_url)
    filler = "Some other matter entirely, written at length. " * 40
    texts = {
        1: ("Notes", filler + "The budget grew; the budget doubled."),
        2: ("Minutes", "On the budget."),
    }
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0007")
        postgres = engine.dialect.name == "postgresql"
        vector = (
            ", setweight(to_tsvector('simple', lower(:title)), 'A')"
            " || setweight(to_tsvector('simple', lower(:body)), 'B')"
        )
        with engine.begin() as connection:
            for note, (title, body) in texts.items():
                connection.execute(
                    text(
                        "INSERT INTO note (id, edit_token, view_token, created_at, updated_at,"
                        " head, session_added, session_removed) VALUES (:id, :e, :v, :t, :t, 1,"
                        " 0, 0)"
                    ),
                    {"id": note, "e": f"e{note}", "v": f"v{note}", "t": datetime(2026, 12, 1)},
                )
                connection.execute(
                    text(
                        "INSERT INTO search_note (note_id, position, versions_upto, title, body,"
                        f" indexed_at{', tsv' if postgres else ''}) VALUES (:id, 1, 1, :title,"
                        f" :body, :t{vector if postgres else ''})"
                    ),
                    {"id": note, "title": title, "body": body, "t": datetime(2026, 12, 1)},
                )
        create_schema(engine)
        with Session(engine) as session:
            hits = search(session, note_ids=[1, 2], query="budget")
    finally:
        engine.dispose()
    assert [hit.note_id for hit in hits] == [2, 1]


def test_notes_of_revision_0008_each_get_a_comment_link_of_their_own(database_url: str) -> None:
    """0011 gives every existing note a fresh random comment token, and keeps its history."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0008")
        with engine.begin() as connection:
            for note in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO note (id, edit_token, view_token, created_at, updated_at,"
                        " head, session_added, session_removed, is_template, title, excerpt,"
                        " summary_head, edited_at) VALUES (:id, :e, :v, :t, :t, 0, 0, 0, false,"
                        " '', '', 0, :t)"
                    ),
                    {"id": note, "e": f"e{note}", "v": f"v{note}", "t": datetime(2026, 12, 1)},
                )
        create_schema(engine)
        with Session(engine) as session:
            found = notes.find_by_token(session=session, token="e1")
            assert found is not None
            by_comment = notes.find_by_token(session=session, token=found.comment_token)
        with engine.connect() as connection:
            tokens = connection.execute(text("SELECT comment_token FROM note")).scalars().all()
    finally:
        engine.dispose()
    assert by_comment is not None and by_comment.id == 1
    assert len(set(tokens)) == 2 and all(len(token) == 24 for token in tokens)


def test_files_of_revision_0011_count_as_seen_when_they_were_uploaded(database_url: str) -> None:
    """0012 gives every note's file the time the purge judges it from: its upload's."""
    engine = make_engine(database_url)
    uploaded = datetime(2026, 11, 2, 9, 30)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0011")
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO note (id, edit_token, view_token, comment_token, created_at,"
                " updated_at, head, session_added, session_removed, is_template, title, excerpt,"
                " summary_head, edited_at) VALUES (1, 'e', 'v', 'c', :t, :t, 0, 0, 0, false, '',"
                " '', 0, :t)",
                "INSERT INTO file_blob (id, data, media_type, size, created_at)"
                " VALUES ('f', :data, 'text/plain', 1, :t)",
                "INSERT INTO note_file (note_id, file_id, name, size, created_at)"
                " VALUES (1, 'f', 'a.txt', 1, :t)",
            ):
                connection.execute(text(statement), {"t": uploaded, "data": b"x"})
        create_schema(engine)
        with engine.connect() as connection:
            seen = connection.execute(text("SELECT seen_at FROM note_file")).scalar_one()
    finally:
        engine.dispose()
    assert str(seen).startswith("2026-11-02 09:30:00")


def test_the_tags_of_revision_0013_are_counted_into_space_tag(database_url: str) -> None:
    """0014 fills the kept tag counts from the tags as they stand (deleted notes' tags,
    with no space, are not counted)."""
    engine = make_engine(database_url)
    made = datetime(2026, 12, 1, 9, 30)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0013")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO space (id, name, edit_token, view_token, created_at)"
                    " VALUES (1, 'Team', 'se', 'sv', :t)"
                ),
                {"t": made},
            )
            for note in (1, 2, 3):
                connection.execute(
                    text(
                        "INSERT INTO note (id, edit_token, view_token, comment_token, created_at,"
                        " updated_at, head, session_added, session_removed, is_template, title,"
                        " excerpt, summary_head, edited_at, space_id) VALUES (:n, :e, :v, :c, :t,"
                        " :t, 0, 0, 0, false, '', '', 0, :t, 1)"
                    ),
                    {"n": note, "e": f"e{note}", "v": f"v{note}", "c": f"c{note}", "t": made},
                )
            for note, tag, space in ((1, "x", 1), (2, "x", 1), (2, "y", 1), (3, "x", None)):
                connection.execute(
                    text("INSERT INTO note_tag (note_id, tag, space_id) VALUES (:n, :tag, :s)"),
                    {"n": note, "tag": tag, "s": space},
                )
        create_schema(engine)
        with engine.connect() as connection:
            counts = connection.execute(
                text("SELECT space_id, tag, notes FROM space_tag ORDER BY tag")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in counts] == [(1, "x", 2), (1, "y", 1)]
