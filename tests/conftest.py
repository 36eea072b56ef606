"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.live import LiveServer
from support.server import ServerProcess

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh SQLite file per test."""
    return tmp_path / "notes.db"


@pytest.fixture
def make_server(tmp_path: Path, db_path: Path) -> Iterator[type[ServerProcess]]:
    """Build servers over the test's database; every one is stopped afterwards."""
    started: list[ServerProcess] = []

    def factory(
        *args: str, env: dict[str, str] | None = None, db: Path | None = None
    ) -> ServerProcess:
        server = ServerProcess(db or db_path, tmp_path, *args, env=env)
        started.append(server)
        return server

    yield factory  # type: ignore[misc]
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: type[ServerProcess]) -> ServerProcess:
    """A running server on a fresh database."""
    return make_server().start()  # type: ignore[call-arg]


@pytest.fixture
def make_live(tmp_path: Path, db_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Build in-process servers over the test's database (settings as keywords)."""
    started: list[LiveServer] = []

    def factory(db: Path | None = None, **settings: Any) -> LiveServer:
        server = LiveServer(db or db_path, **settings)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def live(make_live: Callable[..., LiveServer]) -> LiveServer:
    """A running in-process server on a fresh database: for tests that need no process."""
    return make_live().start()
