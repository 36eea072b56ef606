"""The files of a deployment hold every note and every link: only their owner reads them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.live import LiveServer

pytestmark = pytest.mark.sqlite_only  # SQLite's files


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual umask (022), under which SQLite created its files 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_database_and_its_wal_and_shm_are_readable_by_their_owner_only(
    make_live: Callable[..., LiveServer], tmp_path: Path, usual_umask: None
) -> None:
    db = tmp_path / "notes.db"
    server = make_live(db).start()
    server.post_note("every link and every note")
    files = [db, db.with_name("notes.db-wal"), db.with_name("notes.db-shm")]
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files} == {
        path.name: "0o600" for path in files
    }


def test_an_existing_database_keeps_the_mode_its_operator_gave_it(
    make_live: Callable[..., LiveServer], tmp_path: Path, usual_umask: None
) -> None:
    db = tmp_path / "notes.db"
    make_live(db).start().stop()
    db.chmod(0o640)  # say, for a backup agent of the same group
    make_live(db).start().post_note("x")
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
