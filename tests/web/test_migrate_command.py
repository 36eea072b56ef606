"""``collab-notes migrate``: the schema brought up to date by hand, on SQLite and
PostgreSQL, from empty and from an earlier release; never under a running server."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import make_url, text
from sqlmodel import Session

from collab import document
from storage import notes
from storage.db import _alembic_config, exclusive_sqlite, make_engine, schema_revisions
from storage.updates import SqlDocumentStore

HEAD = schema_revisions()[0]


def migrate(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", "migrate", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_an_empty_database_is_migrated_once_then_left_alone(database_url: str) -> None:
    first = migrate(database_url)
    assert first.returncode == 0, first.stderr
    assert f"schema at revision {HEAD} (was empty)" in first.stdout
    again = migrate(database_url)
    assert again.returncode == 0, again.stderr
    assert f"at revision {HEAD} already; nothing to do" in again.stdout
    password = make_url(database_url).password
    assert not password or str(password) not in first.stdout + first.stderr


@pytest.mark.slow
def test_a_database_of_an_earlier_release_is_upgraded_and_its_notes_read_back(
    database_url: str,
) -> None:
    """A database at revision 0002 (notes, a log by sequence number, snapshots), made
    as that release made it, on either backend."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0002")
        now = datetime(2026, 1, 2, 3, 4, 5)
        connection.execute(
            text(
                "INSERT INTO note (id, created_at, updated_at, edit_token, view_token)"
                " VALUES (7, :now, :now, 'edit-7', 'view-7')"
            ),
            {"now": now},
        )
        doc = document.build([])
        for chunk in ("kept ", "across ", "releases"):
            before = doc.get_state()
            content = doc.get(document.TEXT_NAME, type=document.pycrdt.Text)
            content.insert(len(content), chunk)
            connection.execute(
                text("INSERT INTO update_log (note_id, data) VALUES (7, :data)"),
                {"data": doc.get_update(before)},
            )
    engine.dispose()
    result = migrate(database_url)
    assert result.returncode == 0, result.stderr
    assert f"schema at revision {HEAD} (was 0002)" in result.stdout
    engine = make_engine(database_url)
    with Session(engine) as session:
        found = notes.find_by_token(session=session, token="edit-7")
    assert found is not None and found.id == 7
    loaded = SqlDocumentStore(engine).load_sync(7)
    assert document.text(document.build(loaded.updates)) == "kept across releases"
    engine.dispose()


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_a_sqlite_file_a_server_is_serving_is_not_migrated(database_url: str) -> None:
    with exclusive_sqlite(database_url):
        result = migrate(database_url)
    assert result.returncode == 2
    assert "already serving" in result.stderr
