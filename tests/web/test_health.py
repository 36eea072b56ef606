"""When saving fails, the server says so: peers get 1011, /healthz tells the truth, and a
server that cannot save at all stops by itself, so that a supervisor restarts it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from support.faults import break_appends_holding
from support.http import http
from support.live import LiveServer
from support.server import MakeServer
from support.yclient import YClient

from web import cli

BOOM = "BOOM"


def break_the_writer_on(server: LiveServer, marker: str) -> None:
    """Make the writer meet an unexpected error (a bug) on any update holding ``marker``."""
    break_appends_holding(server.services.store, marker.encode())


async def test_an_unexpected_writer_error_closes_its_room_with_1011_and_saving_goes_on(
    live: LiveServer,
) -> None:
    server = live
    break_the_writer_on(server, BOOM)
    token = server.post_note("safe ")["id"]
    other = server.post_note("other ")["id"]
    async with YClient.connect(server.ws_url, token) as ana:
        ana.append(BOOM)
        assert await ana.wait_closed(10) == 1011
    async with YClient.connect(server.ws_url, other) as ben:
        ben.append("still saved")
        await ben.wait_saved()
    assert server.get_note(other).json()["content"] == "other still saved"
    assert server.get_note(token).json()["content"] == "safe "  # the failed edit is not kept
    assert http.get(server.url + "/healthz").status_code == 200
    assert "an injected bug in the writer" in server.log()


# On PostgreSQL the writer waits for the database server instead of stopping
# (tests/storage/test_writer.py, tests/scaleout/test_outages.py).
@pytest.mark.slow
@pytest.mark.sqlite_only
async def test_a_writer_that_cannot_go_on_fails_healthz_and_the_server_stops(
    live: LiveServer,
) -> None:
    server = live
    token = server.post_note("kept ")["id"]
    async with YClient.connect(server.ws_url, token) as ana:
        break_the_writer_on(server, BOOM)
        engine = server.services.engine

        @event.listens_for(engine, "do_connect")
        def refuse(*_args: Any) -> None:
            raise OSError("the database disk went away")

        engine.dispose()  # no spare connection in the pool: the writer must make one
        ana.append(BOOM)
        assert await ana.wait_closed(10) == 1011
    health = await asyncio.to_thread(_first_unhealthy, server, "went away")
    assert health["status"] == "unavailable", health
    await asyncio.to_thread(_wait_stopped, server)
    assert "went away" in (server.stopped_because or "")


def _first_unhealthy(server: LiveServer, saying: str = "", timeout_s: float = 10) -> dict[str, Any]:
    """The first 503 answer of /healthz whose detail holds ``saying``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = http.get(server.url + "/healthz", timeout=2)
        if response.status_code == 503 and saying in response.json()["detail"]:
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.02)
    raise AssertionError(f"/healthz never said {saying!r} although nothing can be saved")


def _wait_stopped(server: LiveServer, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while server.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not server.running, "the server should stop by itself"


@pytest.mark.slow
@pytest.mark.sqlite_only  # holds SQLite's write lock from another connection
async def test_healthz_says_saving_is_delayed_while_the_database_is_locked(
    live: LiveServer, db_path: Path
) -> None:
    token = live.post_note("locked ")["id"]
    async with YClient.connect(live.ws_url, token) as typist:
        locker = sqlite3.connect(db_path, isolation_level=None, timeout=5)
        locker.execute("BEGIN IMMEDIATE")  # as another process holding the database would
        try:
            typist.append("waiting")
            health = await asyncio.to_thread(_first_unhealthy, live)
            assert "saving is delayed" in health["detail"], health
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await typist.wait_saved(10)
    assert http.get(live.url + "/healthz").json() == {"status": "ok"}


# Loaded into the server process by Python's ``sitecustomize`` hook: a bug in the
# writer on an update holding BOOM, and from then on a database that cannot be
# opened (as when its disk went away).
WRITER_DIES = """
import sqlite3
import sqlite3.dbapi2  # what SQLAlchemy connects with
from storage.updates import SqlDocumentStore

append_all = SqlDocumentStore._append_all

def refuse(*args, **kwargs):
    raise sqlite3.OperationalError("the database disk went away")

def failing(self, cursor, appends, now):
    if any(b"BOOM" in job.edit.update for jobs in appends.values() for job in jobs):
        self.engine.dispose()  # no spare connection in the pool: the writer must make one
        sqlite3.dbapi2.connect = refuse
        raise RuntimeError("an injected bug in the writer")
    append_all(self, cursor, appends, now)

SqlDocumentStore._append_all = failing
"""


@pytest.mark.sqlite_only
async def test_a_served_process_whose_writer_cannot_go_on_exits_with_status_4(
    tmp_path: Path, make_server: MakeServer
) -> None:
    """What a supervisor sees (systemd's ``Restart=``, a container's restart policy)."""
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "sitecustomize.py").write_text(WRITER_DIES)
    server = make_server(env={"PYTHONPATH": str(faults)}).start()
    token = server.post_note("kept ")["id"]
    async with YClient.connect(server.ws_url, token) as ana:
        ana.append(BOOM)
        assert await ana.wait_closed(10) == 1011
    assert server.proc is not None
    assert await asyncio.to_thread(server.proc.wait, 30) == cli.EXIT_FATAL
    assert "went away" in server.log()
