"""Starting on a full disk, on a damaged database, and opening a note whose pages are damaged."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.ci import IN_CI
from support.databases import notes_database, scramble_page_of
from support.http import http
from support.live import LiveServer
from support.server import MakeServer, free_port
from support.yclient import YClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from web.cli import EXIT_DATABASE_UNUSABLE
from web.routes.ws import LOAD_FAILED_REASON

pytestmark = pytest.mark.sqlite_only  # SQLite files and their tools

TESTS = Path(__file__).resolve().parents[1]
README = (TESTS.parent / "README.md").read_text()


def serve_until_exit(db: Path) -> subprocess.CompletedProcess[str]:
    """``collab-notes serve`` on ``db``, expected to refuse and exit on its own."""
    url = f"sqlite:///{db}"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "web.cli",
            "serve",
            "--port",
            str(free_port()),
            "--database-url",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == EXIT_DATABASE_UNUSABLE, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("collab-notes: ")
    for word in words:
        assert word in lines[0]
    row = next(line for line in README.splitlines() if line.startswith("| `5` |"))
    assert "serve" in row or "database" in row
    return lines[0]


def namespace() -> list[str]:
    """The command that runs the rest in user and mount namespaces of its own (as root there)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        reason = "unshare (util-linux) is missing: it makes the small file systems"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return [unshare, "--user", "--map-root-user", "--mount"]


def skip_without_namespaces(done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0 and "unshare failed" in done.stderr and not IN_CI:
        pytest.skip(f"no user and mount namespaces here: {done.stderr.strip()}")


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill", "term"])
def test_a_server_restarts_on_a_full_disk_and_serves_its_notes(tmp_path: Path, stop: str) -> None:
    # 205f207 wrote the schema version on every start: "database or disk is full", exit 3.
    # 8da4d82, after a clean stop (no -shm left): "is damaged (disk I/O error)", exit 5.
    # support.server takes free_port from the bench's launcher (harness.backends).
    paths = [str(TESTS), str(TESTS.parent), str(TESTS.parent / "bench")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [*namespace(), sys.executable, "-m", "support.fulldisk", str(tmp_path), stop],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=TESTS,
        check=False,
    )
    skip_without_namespaces(done)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["started"], result["log"][-3000:]
    assert result["content"] == "# Kept\nwritten before the disk filled up"
    assert result["health"] == {
        "status": "unavailable",
        "detail": "the disk holding the database is full (0 KB free)",
    }
    if stop == "term":
        assert "is full (0 KB free): serving what is saved" in result["log"]
    status, body, headers, took = result["post_while_full"]
    assert status == 503, body  # 8da4d82: a bare 500
    assert "the disk holding the database is full" in json.loads(body)["detail"]
    assert int(headers["retry-after"]) > 0 and took < 10
    assert result["post_after_freeing"] == 201  # saving works again once there is space


@pytest.mark.slow
def test_an_empty_database_file_is_refused_in_one_line(db_path: Path) -> None:
    db_path.touch()
    line = assert_refused_in_one_line(serve_until_exit(db_path), "is empty (0 bytes)")
    assert "delete it to start afresh" in line
    assert db_path.stat().st_size == 0 and not db_path.with_name("notes.db-wal").exists()


@pytest.mark.slow
def test_a_file_that_is_not_sqlite_is_refused_in_one_line(db_path: Path) -> None:
    db_path.write_bytes(b"these are not the notes you are looking for\n" * 100)
    assert_refused_in_one_line(serve_until_exit(db_path), "is not a SQLite database")


@pytest.mark.slow
def test_a_database_whose_schema_page_is_damaged_is_refused_in_one_line(db_path: Path) -> None:
    notes_database(db_path, ["a note"])
    with open(db_path, "r+b") as file:  # page 1 holds the schema, after the 100-byte header
        file.seek(100)
        file.write(b"\xa5" * 3000)
    assert_refused_in_one_line(serve_until_exit(db_path), "is damaged", "collab-notes check")


# 8da4d82 exited 1 with a traceback in each of these three cases.
@pytest.mark.slow
def test_a_database_path_that_is_a_directory_is_refused_in_one_line(db_path: Path) -> None:
    db_path.mkdir()
    assert_refused_in_one_line(serve_until_exit(db_path), "is a directory, not a database file")


@pytest.mark.slow
def test_a_database_path_under_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    line = assert_refused_in_one_line(
        serve_until_exit(tmp_path / "a-file" / "notes.db"), "is a file, not a directory"
    )
    assert str(tmp_path / "a-file") in line


READ_ONLY_SERVE = """mount -t tmpfs -o size=8m tmpfs "$1" && cp "$2" "$1/notes.db" &&
mount -o remount,ro "$1" && shift 2 && exec "$@" """


@pytest.mark.slow
def test_a_database_on_a_read_only_mount_is_refused_in_one_line(
    tmp_path: Path, db_path: Path
) -> None:
    notes_database(db_path, ["a note"])
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    serve = [sys.executable, "-m", "web.cli", "serve", "--port", str(free_port())]
    serve += ["--database-url", f"sqlite:///{mnt / 'notes.db'}"]
    done = subprocess.run(
        [*namespace(), "sh", "-c", READ_ONLY_SERVE, "sh", str(mnt), str(db_path), *serve],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    skip_without_namespaces(done)
    line = assert_refused_in_one_line(done, "is on a read-only file system")
    assert "mount it read-write" in line


async def test_a_damaged_wal_is_refused_and_left_as_it_was(
    make_server: MakeServer, db_path: Path
) -> None:
    # 205f207 started, silently without every transaction after the damaged frame.
    server = make_server().start()
    token = server.post_note("# Written after the WAL began")["id"]
    async with YClient.connect(server.ws_url, token) as client:
        client.append("\nmore, committed")
        await client.wait_saved()
    server.kill()
    wal = db_path.with_name("notes.db-wal")
    data = bytearray(wal.read_bytes())
    data[32 + 24 + 200] ^= 0xFF  # in the page of the first frame: its checksum fails
    wal.write_bytes(bytes(data))
    line = assert_refused_in_one_line(serve_until_exit(db_path), "frame 1 fails its checksum")
    assert "move this file aside" in line
    assert wal.read_bytes() == bytes(data)  # nothing was opened for writing


@pytest.mark.slow
async def test_a_note_whose_pages_are_damaged_closes_with_1011_and_a_reason(
    make_live: Callable[..., LiveServer], db_path: Path
) -> None:
    # 205f207 dropped the socket (1006) with a traceback: clients retried for ever, unaware.
    notes_database(db_path, [f"note {i} " * 20 for i in range(300)])
    scramble_page_of(db_path, "sqlite_autoindex_update_log_1")
    server = make_live().start()
    with sqlite3.connect(db_path) as connection:
        (edit_token,) = connection.execute("SELECT edit_token FROM note WHERE id = 1").fetchone()
    connection.close()
    async with connect(f"{server.ws_url}/{edit_token}") as ws:
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    assert (ws.close_code, ws.close_reason) == (1011, LOAD_FAILED_REASON)
    server.wait_for_log("note=1 could not be opened")
    assert http.get(server.url + "/healthz").status_code == 200
