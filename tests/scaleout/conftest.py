"""Fixtures for several server processes on one PostgreSQL and one Redis.

Every server here is a real ``collab-notes serve`` process; PostgreSQL and Redis
are Debian's servers, started on free ports in temporary folders.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.ci import IN_CI
from support.server import ServerProcess
from support.services import Postgres, Redis

Nodes = Callable[..., list[ServerProcess]]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis server of the test's own, restartable on its port."""
    if shutil.which("redis-server") is None and not IN_CI:
        pytest.skip("redis-server is not installed here; scripts/test installs it")
    server = Redis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def cluster_db(postgres: Postgres) -> str:
    """A fresh PostgreSQL database for the test's servers."""
    return postgres.create_database()


@pytest.fixture
def nodes(tmp_path: Path, cluster_db: str, redis: Redis) -> Iterator[Nodes]:
    """Start ``n`` server processes sharing the database and Redis (extra flags as args)."""
    started: list[ServerProcess] = []

    def start(n: int, *args: str) -> list[ServerProcess]:
        made = [
            ServerProcess(cluster_db, tmp_path, "--redis-url", redis.url, *args) for _ in range(n)
        ]
        started.extend(made)
        return [server.start() for server in made]

    yield start
    for server in started:
        server.discard()
