"""``collab-notes check`` on what a real server wrote, healthy and damaged."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.databases import append_raw, notes_database, scramble_page_of
from support.server import MakeServer, ServerProcess
from support.yclient import YClient

from web.cli import main

pytestmark = pytest.mark.sqlite_only  # SQLite files and their tools


def check(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", "check", "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def note_id(db: Path, token: str) -> int:
    with sqlite3.connect(db) as connection:
        found: int = connection.execute(
            "SELECT id FROM note WHERE edit_token = ?", (token,)
        ).fetchone()[0]
    connection.close()
    return found


async def edit(server: ServerProcess, token: str, rounds: int) -> str:
    """Type, delete and type again; return the text a second peer received."""
    async with (
        YClient.connect(server.ws_url, token) as writer,
        YClient.connect(server.ws_url, token) as watcher,
    ):
        for i in range(rounds):
            writer.append(f"line {i}\n")
            if i % 7 == 6:
                del writer.text[0:3]
            await asyncio.sleep(0.001)
        await watcher.wait_until(lambda c: str(c.text) == str(writer.text))
        return str(watcher.text)


async def test_what_a_server_wrote_passes_even_while_it_runs(
    make_server: MakeServer, db_path: Path
) -> None:
    server = make_server("--checkpoint-after-updates=20").start()
    tokens = [server.post_note(f"# note {i}\n")["id"] for i in range(3)]
    for token in tokens:
        await edit(server, token, 60)  # two checkpoints, then a log after the last
    async with YClient.connect(server.ws_url, tokens[0]) as typist:
        typist.append("still typing")
        live = check(db_path)
    assert live.returncode == 0, live.stdout + live.stderr
    assert "notes: 3 checked, 3 load, 0 do not" in live.stdout
    assert "nothing is wrong" in live.stdout
    server.stop()
    stopped = check(db_path)
    assert stopped.returncode == 0 and "integrity_check): ok" in stopped.stdout


async def test_a_note_with_a_garbage_update_is_listed_with_its_id_and_reason(
    server: ServerProcess, db_path: Path
) -> None:
    good, bad = server.post_note("fine")["id"], server.post_note("soon broken")["id"]
    await edit(server, bad, 10)
    server.stop()
    seq = append_raw(db_path, note_id(db_path, bad), b"\x01\x01\xff\xff\xff\xff\xff\xff\xff")
    result = check(db_path)
    assert result.returncode == 1
    assert "notes: 2 checked, 1 load, 1 do not" in result.stdout
    assert f"  note {note_id(db_path, bad)}: update {seq}: " in result.stdout
    assert f"note {note_id(db_path, good)}:" not in result.stdout


@pytest.mark.slow
def test_a_corrupted_page_fails_with_the_integrity_errors(db_path: Path) -> None:
    notes_database(db_path, [f"note {i} " * 20 for i in range(300)])
    page = scramble_page_of(db_path, "sqlite_autoindex_update_log_1")
    result = check(db_path)
    assert result.returncode == 1
    assert "database integrity (PRAGMA integrity_check): failed" in result.stdout
    assert "  database: database disk image is malformed" in result.stdout
    assert page > 1
    # Every note is read through that index: 300 notes fail alike, on one line.
    notes = [line for line in result.stdout.splitlines() if line.startswith("  note")]
    assert notes == [
        "  notes 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 290 more: "
        "cannot be read: database disk image is malformed"
    ]


def test_no_database_there_is_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--database-url", f"sqlite:///{tmp_path}/none.db"]) == 2
    assert "there is no database at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_postgresql_database_is_pointed_to_pg_amcheck(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--database-url", "postgresql://notes:pw@db/notes"]) == 2
    err = capsys.readouterr().err
    assert "pg_amcheck 'postgresql://notes:***@db/notes'" in err and ":pw@" not in err


def test_a_history_window_that_is_not_a_number_of_days_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/notes.db"
    monkeypatch.setenv("COLLAB_HISTORY_DAYS", "a month")
    assert main(["check", "--database-url", url]) == 2
    said = capsys.readouterr().err.strip()
    expected = "expected a number of days, 0 or more, got 'a month'"
    assert said == f"collab-notes check: COLLAB_HISTORY_DAYS: {expected}"
    with pytest.raises(SystemExit) as refused:
        main(["check", "--database-url", url, "--history-days", "-1"])
    assert refused.value.code == 2 and "0 or more, got '-1'" in capsys.readouterr().err
