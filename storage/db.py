"""Building the database engine. There is no module-level engine: callers own theirs."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, make_url, text
from sqlmodel import SQLModel, create_engine

from storage import models

logger = logging.getLogger("storage.db")

SCHEMA_VERSION = 2
"""Bump this and add a step to ``_MIGRATIONS`` whenever the tables change."""

_MIGRATIONS: dict[int, list[str]] = {
    # version reached -> SQL statements that get there from the version before
    2: ["ALTER TABLE note ADD COLUMN deleted_at DATETIME"],  # delete with undo
}


class Durability(StrEnum):
    """How hard a commit tries to survive a crash (SQLite's ``synchronous``)."""

    FULL = "full"  # survives power loss: fsync on every commit
    NORMAL = "normal"  # survives a process crash; a power cut may lose the last commits


POOL_SIZE = 10
POOL_OVERFLOW = 40
"""Connections kept open, and the most opened on top under load. Every thread that
uses the database holds one connection at a time and never waits for a second while
holding one: anyio's 40 worker threads (requests), asyncio's default executor (note
loads: 6 threads on 2 cores) and the writer fit in 50, so no thread waits for the
pool, let alone deadlocks on it."""


def make_engine(url: str, durability: Durability = Durability.FULL) -> Engine:
    """Create an engine; for SQLite, in WAL mode with foreign keys and a busy timeout."""
    is_sqlite = url.startswith("sqlite")
    connect_args = {"check_same_thread": False, "timeout": 30} if is_sqlite else {}
    pooled = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW} if _pooled(url) else {}
    # hide_parameters: a failed statement's message (logged with its traceback) must not
    # show its parameters, which can be a token or a note's text.
    engine = create_engine(url, connect_args=connect_args, hide_parameters=True, **pooled)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(durability))
    return engine


def _pooled(url: str) -> bool:
    """In-memory SQLite gets a single shared connection, not a queue pool."""
    return not url.startswith("sqlite") or sqlite_path(url) is not None


def _sqlite_pragmas(durability: Durability) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={durability.value.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return on_connect


def create_schema(engine: Engine) -> None:
    """Create the tables, or migrate them to :data:`SCHEMA_VERSION`."""
    assert models.Note.__tablename__  # the models module registers the tables
    with engine.begin() as connection:
        version = stored = _schema_version(connection)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has schema version {version}, newer than this collab-notes "
                f"({SCHEMA_VERSION}); upgrade collab-notes or use another database"
            )
        if version == 0:  # unversioned: version 1's tables, or none (create_all makes them new)
            version = 1 if inspect(connection).has_table("note") else SCHEMA_VERSION
        SQLModel.metadata.create_all(connection)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step]:
                connection.execute(text(statement))
        if stored != SCHEMA_VERSION:
            # Only when it changes: a start that writes nothing can start on a full disk.
            _set_schema_version(connection, SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        logger.info("database schema at version %d (was %d)", SCHEMA_VERSION, version)


def _schema_version(connection: Any) -> int:
    if connection.dialect.name == "sqlite":
        return int(connection.execute(text("PRAGMA user_version")).scalar_one())
    return SCHEMA_VERSION  # other databases: tables are created as they are


def _set_schema_version(connection: Any, version: int) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(text(f"PRAGMA user_version={int(version)}"))


class DatabaseInUse(RuntimeError):
    """Another server process already serves this SQLite database."""


@contextmanager
def exclusive_sqlite(url: str) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite database file while serving it.

    A note's room lives in one process, so two processes serving one database
    would split its editors. The lock file goes away with the process, even on
    SIGKILL, so a crash never blocks the next start.
    """
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"another collab-notes process is already serving {path}; run one process "
                "per database (rooms live in one process, so two would split a note's editors)"
            ) from None
        yield


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()
