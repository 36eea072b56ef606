"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from support.ci import IN_CI
from support.live import LiveServer, reap_discarded
from support.server import MakeServer, ServerProcess
from support.services import Postgres, postgres_server

from storage.db import create_schema, make_engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh SQLite file per test."""
    return tmp_path / "notes.db"


@pytest.fixture
def make_server(tmp_path: Path, database_url: str) -> Iterator[MakeServer]:
    """Build servers over the test's database; every one is stopped afterwards."""
    started: list[ServerProcess] = []

    def factory(
        *args: str, env: dict[str, str] | None = None, db: Path | str | None = None
    ) -> ServerProcess:
        server = ServerProcess(db or database_url, tmp_path, *args, env=env)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.discard()


@pytest.fixture
def server(make_server: MakeServer) -> ServerProcess:
    """A running server on a fresh database."""
    return make_server().start()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the whole run; each test takes a database of its own."""
    try:
        with postgres_server() as server:
            yield server
    except (FileNotFoundError, KeyError) as error:  # no postgresql package, no postgres user
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL is not installed here ({error}); scripts/test installs it")


BACKENDS = ["sqlite", "postgres"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test whose servers use a database on both SQLite and PostgreSQL.

    A test of what only a SQLite file has (its lock, its file, its tools) is
    marked ``sqlite_only`` and runs once. So do the browser tests: they test the
    pages, and what they reach of the server runs on both in the other tests.
    """
    if "backend" in metafunc.fixturenames:
        definition = metafunc.definition
        only = definition.get_closest_marker("sqlite_only") or definition.get_closest_marker(
            "browser"
        )
        metafunc.parametrize("backend", ["sqlite"] if only else BACKENDS, indirect=True)


# Slow, and left out of the inner loop (`-m "not slow"`): every test of these
# folders (a browser, npm clients, several processes with PostgreSQL, Redis and
# nginx, the deploy tools, the bench's smoke runs), the PostgreSQL half of the
# tests that run on both databases, and tests that start a server process of
# their own (they kill, signal or restart it). Other slow tests say so where
# they are written.
SLOW_FOLDERS = {"browser", "interop", "scaleout", "deploy", "bench"}
SLOW_FIXTURES = {"make_server", "postgres"}  # conftest's server takes make_server
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` what the inner loop leaves out (see ``SLOW_FOLDERS``)."""
    for item in items:
        assert isinstance(item, pytest.Function)
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if (
            item.path.relative_to(TESTS).parts[0] in SLOW_FOLDERS
            or params.get("backend") == "postgres"
            or SLOW_FIXTURES & set(item.fixturenames)
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test's servers use (see :func:`pytest_generate_tests`)."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{db_path}"
    postgres: Postgres = request.getfixturevalue("postgres")
    return postgres.create_database()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test's database, its schema made; disposed afterwards.

    Disposing matters on PostgreSQL: a pooled connection left open is closed by
    the garbage collector in whichever test runs next, with a warning there.
    """
    made = make_engine(database_url)
    create_schema(made)
    yield made
    made.dispose()


@pytest.fixture
def make_live(tmp_path: Path, database_url: str) -> Iterator[Callable[..., LiveServer]]:
    """Build in-process servers over the test's database (settings as keywords)."""
    started: list[LiveServer] = []

    def factory(db: Path | str | None = None, **settings: Any) -> LiveServer:
        server = LiveServer(db or database_url, **settings)
        started.append(server)
        return server

    yield factory
    for server in reversed(started):  # the logging level each one found comes back last
        server.discard()


@pytest.fixture(scope="session", autouse=True)
def _every_discarded_server_stops() -> Iterator[None]:
    yield
    stuck = reap_discarded()
    assert not stuck, "\n\n".join(stuck)


@pytest.fixture
def live(make_live: Callable[..., LiveServer]) -> LiveServer:
    """A running in-process server on a fresh database: for tests that need no process."""
    return make_live().start()
