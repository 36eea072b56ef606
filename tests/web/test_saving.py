"""REST writes while saving fails: 503 with the reason and Retry-After, promptly."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.http import http
from support.live import LiveServer
from support.yclient import YClient

from web.saving import REQUEST_BUSY_TIMEOUT_S

pytestmark = pytest.mark.sqlite_only  # holds SQLite's write lock from another connection

WRITER_BUSY_TIMEOUT_S = 30.0  # what a request waited before, and answered a bare 500


@contextmanager
def locked(db_path: Path) -> Iterator[None]:
    """Hold the database's write lock, as another process would."""
    locker = sqlite3.connect(db_path, isolation_level=None, timeout=5)
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def timed_post(url: str, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.post(url, json=body, timeout=2 * WRITER_BUSY_TIMEOUT_S)
    return response, time.monotonic() - started


def assert_refused(response: httpx.Response, saying: str) -> None:
    assert response.status_code == 503, response.text
    assert saying in response.json()["detail"], response.json()
    assert int(response.headers["retry-after"]) > 0


def healthz_unavailable(live: LiveServer, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = http.get(live.url + "/healthz", timeout=5)
        if response.status_code == 503:
            detail: str = response.json()["detail"]
            return detail
        time.sleep(0.02)
    raise AssertionError("/healthz never said 503 although the writer waits on a lock")


def healthz_ok(live: LiveServer, timeout_s: float = 10) -> None:
    """Wait until saving works again: the background writers (search index, a space's
    summaries) that waited on the lock finish a moment after it is released."""
    deadline = time.monotonic() + timeout_s
    while http.get(live.url + "/healthz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "/healthz still says 503 after the lock went"
        time.sleep(0.02)


@pytest.mark.slow
def test_creating_a_note_behind_a_lock_answers_503_within_seconds(
    live: LiveServer, db_path: Path
) -> None:
    # 8da4d82: a bare 500 after the 30 s busy timeout.
    live.post_note("the schema exists")
    with locked(db_path):
        response, took = timed_post(live.url + "/api/notes", {"content": "x"})
    print(f"\nPOST behind a lock: {response.status_code} in {took:.1f} s")
    assert_refused(response, "the database is locked")
    assert took < WRITER_BUSY_TIMEOUT_S / 3, took  # REQUEST_BUSY_TIMEOUT_S, with a margin
    assert took >= REQUEST_BUSY_TIMEOUT_S * 0.9  # it did wait for the lock first
    healthz_ok(live)
    assert live.post_note("after")["id"]  # and writes work again once it is released


@pytest.mark.slow
async def test_writes_while_healthz_says_saving_is_delayed_answer_503_with_that_reason(
    live: LiveServer, db_path: Path
) -> None:
    token = live.post_note("locked ")["id"]
    async with YClient.connect(live.ws_url, token) as typist:
        with locked(db_path):
            typist.append("waiting")
            health = await asyncio.to_thread(healthz_unavailable, live)
            assert "saving is delayed" in health
            created, _ = await asyncio.to_thread(timed_post, live.url + "/api/notes", {})
            rotated, _ = await asyncio.to_thread(
                timed_post, f"{live.url}/api/notes/{token}/rotate", {"which": "view"}
            )
        await typist.wait_saved(10)
    # The reason /healthz gave is the one only the check before the request can give:
    # it was refused before it waited on the database.
    assert_refused(created, "saving is delayed")
    assert_refused(rotated, "saving is delayed")
    assert http.post(f"{live.url}/api/notes/{token}/rotate", json={"which": "view"}).is_success
