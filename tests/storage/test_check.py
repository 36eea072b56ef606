"""The check reads one consistent state and names what is wrong: the database, a row, a note."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pycrdt
import pytest
from support.databases import append_raw, notes_database, scramble_page_of

from collab import document
from storage.check import CheckRefused, Problem, Report, check_sqlite


def check(path: Path) -> Report:
    return check_sqlite(path, vet=document.first_problem, build=document.build)


def test_a_healthy_database_has_no_problems(db_path: Path) -> None:
    notes_database(db_path, ["# one\n", "", "three " * 1000])
    report = check(db_path)
    assert (report.ok, report.integrity, report.notes_checked) == (True, "ok", 3)


def test_garbage_in_a_note_log_is_reported_with_the_note_and_the_row(db_path: Path) -> None:
    _good, bad = notes_database(db_path, ["fine", "soon broken"])
    seq = append_raw(db_path, bad, b"\x05\xff\xff\xff\xff\xff")
    report = check(db_path)
    assert report.integrity == "ok" and report.notes_broken == 1
    [problem] = report.problems
    assert problem.subject == f"note {bad}"
    assert problem.reason.startswith(f"update {seq}: ")


def test_a_lost_update_is_reported_as_text_that_would_not_appear(db_path: Path) -> None:
    [note] = notes_database(db_path, ["first"])
    with sqlite3.connect(db_path) as connection:
        connection.execute("DELETE FROM update_log WHERE note_id = ?", (note,))
    connection.close()
    # An edit made after the lost one depends on it: yrs would hold it back silently.
    after = document.initial_update("first")
    assert after is not None
    doc = document.build([after])
    before = doc.get_state()
    doc.get(document.TEXT_NAME, type=pycrdt.Text).insert(5, " and more")
    seq = append_raw(db_path, note, doc.get_update(before))
    [problem] = check(db_path).problems
    assert problem.subject == f"note {note}"
    assert problem.reason.startswith(f"update {seq}: ") and "pending" in problem.reason


def test_the_check_reads_one_state_while_a_server_writes(db_path: Path) -> None:
    _first, second = notes_database(db_path, ["one", "two"])
    written: list[int] = []

    def build_and_write(updates: tuple[bytes, ...]) -> object:
        if not written:  # while the first note is checked, garbage lands in the second
            written.append(append_raw(db_path, second, b"\xff\xff\xff"))
        return document.build(updates)

    report = check_sqlite(db_path, vet=document.first_problem, build=build_and_write)
    assert written and report.ok and report.notes_checked == 2
    [problem] = check(db_path).problems  # a new check sees the garbage
    assert problem.subject == f"note {second}"


def test_a_note_that_fails_to_build_is_reported_with_the_error(db_path: Path) -> None:
    [note] = notes_database(db_path, ["anything"])

    def refuse(_updates: tuple[bytes, ...]) -> object:
        raise ValueError("cannot build")

    report = check_sqlite(db_path, vet=document.first_problem, build=refuse)
    assert report.problems == [Problem(f"note {note}", "does not load: ValueError('cannot build')")]


@pytest.mark.slow
def test_a_scrambled_index_page_fails_the_integrity_check(db_path: Path) -> None:
    notes_database(db_path, [f"note {i} " * 20 for i in range(300)])
    page = scramble_page_of(db_path, "ix_version_note_position")
    report = check(db_path)
    assert report.integrity == "failed"
    reasons = [p.reason for p in report.problems if p.subject == "database"]
    # SQLite names the page, or, when the damage is to a page's header, gives up on it.
    assert any(f"page {page}" in r or "disk image is malformed" in r for r in reasons), reasons


def test_rows_of_a_missing_note_are_reported(db_path: Path) -> None:
    notes_database(db_path, ["a"])
    append_raw(db_path, 999, document.initial_update("orphan") or b"")
    with sqlite3.connect(db_path) as db:
        (rowid,) = db.execute("SELECT rowid FROM update_log WHERE note_id = 999").fetchone()
    [problem] = check(db_path).problems
    assert problem == Problem(f"update_log row {rowid}", "belongs to a missing note")


def test_a_database_of_something_else_is_reported(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    [problem] = check(db_path).problems
    assert "not a collab-notes database" in problem.reason


def test_no_database_is_refused_and_none_is_created(tmp_path: Path) -> None:
    with pytest.raises(CheckRefused, match="there is no database at"):
        check(tmp_path / "none.db")
    assert list(tmp_path.iterdir()) == []
