"""An online copy of a SQLite database: complete, checked, never over what it must not replace."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pycrdt
import pytest
from sqlmodel import Session
from support.databases import notes_database

from collab import document
from collab.persistence import Edit
from storage import history, notes
from storage.backup import BackupRefused, backup_sqlite
from storage.db import create_schema, exclusive_sqlite, make_engine
from storage.updates import SqlDocumentStore


def note_count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute("SELECT count(*) FROM note").fetchone()[0]
    connection.close()
    return count


def test_the_copy_has_every_note_and_is_one_file(tmp_path: Path, db_path: Path) -> None:
    notes_database(db_path, [f"note {i}" for i in range(25)])
    dest = tmp_path / "copy.db"
    result = backup_sqlite(db_path, dest)
    assert (result.notes, note_count(dest)) == (25, 25)
    assert result.bytes == dest.stat().st_size
    assert sorted(p.name for p in tmp_path.glob("copy.db*")) == ["copy.db"]


@pytest.mark.slow
def test_a_large_copy_reports_its_progress_step_by_step(tmp_path: Path, db_path: Path) -> None:
    notes_database(db_path, ["x" * 100_000 for _ in range(100)])  # about 10 MB
    seen: list[tuple[int, int]] = []
    result = backup_sqlite(
        db_path, tmp_path / "copy.db", pages_per_step=256, progress=lambda *p: seen.append(p)
    )
    assert len(seen) > 5, "a 10 MB copy in 1 MB steps should report several times"
    assert [copied for copied, _ in seen] == sorted(copied for copied, _ in seen)
    assert seen[-1] == (result.pages, result.pages)


def test_an_existing_destination_is_kept_unless_forced(tmp_path: Path, db_path: Path) -> None:
    notes_database(db_path, ["a", "b"])
    dest = tmp_path / "copy.db"
    dest.write_bytes(b"precious")
    with pytest.raises(BackupRefused, match="already exists; use --force"):
        backup_sqlite(db_path, dest)
    assert dest.read_bytes() == b"precious"
    stale_wal = tmp_path / "copy.db-wal"
    stale_wal.write_bytes(b"an old log that must not be replayed into the copy")
    backup_sqlite(db_path, dest, force=True)
    assert note_count(dest) == 2 and not stale_wal.exists()


def test_a_destination_a_server_serves_is_never_replaced(tmp_path: Path, db_path: Path) -> None:
    notes_database(db_path, ["a"])
    served = tmp_path / "served.db"
    notes_database(served, ["mine", "and mine"])
    with exclusive_sqlite(f"sqlite:///{served}"), pytest.raises(BackupRefused, match="serving"):
        backup_sqlite(db_path, served, force=True)
    assert note_count(served) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dest", "message"),
    [
        ("notes.db", "is the database itself"),
        ("missing/copy.db", "does not exist"),
        (".", "is a folder"),
    ],
)
def test_a_destination_that_cannot_be_right_is_refused(
    tmp_path: Path, db_path: Path, dest: str, message: str
) -> None:
    notes_database(db_path, ["a"])
    with pytest.raises(BackupRefused, match=message):
        backup_sqlite(db_path, tmp_path / dest)


def test_a_missing_source_is_refused_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(BackupRefused, match="there is no database at"):
        backup_sqlite(tmp_path / "none.db", tmp_path / "copy.db")
    assert list(tmp_path.iterdir()) == []


def test_a_database_of_something_else_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    with pytest.raises(BackupRefused, match="not a collab-notes database"):
        backup_sqlite(other, tmp_path / "copy.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_failed_copy_leaves_nothing_behind(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_bytes(b"this is not a database file, just text" * 200)
    with pytest.raises(sqlite3.DatabaseError):
        backup_sqlite(not_a_database, tmp_path / "copy.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


@pytest.mark.slow
def test_commits_during_the_copy_neither_restart_it_nor_get_into_it(
    tmp_path: Path, db_path: Path
) -> None:
    notes_database(db_path, ["x" * 100_000 for _ in range(20)])  # about 2 MB
    writer = sqlite3.connect(db_path, isolation_level=None)  # the server, committing meanwhile
    seen: list[int] = []

    def write_a_note(copied: int, _total: int) -> None:
        seen.append(copied)
        if len(seen) <= 50:  # bounded: a copy that restarts on every commit never ends
            writer.execute(
                "INSERT INTO note (edit_token, view_token, created_at, updated_at) "
                "VALUES (?, ?, '2026-01-01', '2026-01-01')",
                (f"e{len(seen)}", f"v{len(seen)}"),
            )

    result = backup_sqlite(db_path, tmp_path / "copy.db", pages_per_step=16, progress=write_a_note)
    writer.close()
    assert len(seen) > 10 and seen == sorted(seen), "the copy started over"
    assert result.notes == 20 and note_count(tmp_path / "copy.db") == 20
    assert note_count(db_path) == 20 + min(len(seen), 50)


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_the_copy_keeps_the_history_every_version_reads_back(
    tmp_path: Path, db_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    create_schema(engine)
    with Session(engine) as session:
        note = notes.create_note(session=session).id
    assert note is not None
    doc: pycrdt.Doc = pycrdt.Doc()
    texts: dict[int, str] = {}
    async with SqlDocumentStore(engine, version_gap_s=0.05) as store:
        for word in ("one ", "two ", "three "):
            before = doc.get_state()
            doc.get("content", type=pycrdt.Text).insert(0, word)
            position = await store.append(note, Edit(doc.get_update(before), "Ana", len(word)))
            texts[position] = str(doc.get("content", type=pycrdt.Text))
            await asyncio.sleep(0.1)  # a pause: each word is a version of its own
        named = await store.mark_version(note, "named", "Before the review")
    engine.dispose()

    backup_sqlite(db_path, tmp_path / "copy.db")
    copy = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    with Session(copy) as session:
        versions = history.list_versions(session=session, note_id=note)
    assert [v.kind for v in versions] == ["named", "auto", "auto", "auto"]
    assert versions[0].name == "Before the review" and versions[0].id == named.id
    restored = SqlDocumentStore(copy)
    for position, text in texts.items():
        assert (
            document.text(document.build(restored.load_sync(note, upto=position).updates)) == text
        )
    copy.dispose()
