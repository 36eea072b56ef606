"""Building the database engine. There is no module-level engine: callers own theirs."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, inspect, make_url, text
from sqlmodel import create_engine

from storage import models
from storage.preflight import full_disk

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger("storage.db")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x636E6D67  # the advisory lock migrations take on PostgreSQL ("cnmg")

SCHEMA_REVISION = "0014"
"""The newest migration in ``migrations/versions`` (a test holds the two in step). A
database already there is recognised by one query, without importing Alembic, which
is a fifth of a server's start (0.22 of 1 s)."""

LEGACY_REVISIONS = {1: "0001", 2: "0002"}
"""Databases written before Alembic kept their schema version in SQLite's
``user_version``; they are stamped with the revision that matches it."""


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


ALONE_VFS = "unix-excl"
"""SQLite's VFS that keeps a WAL database's index in this process's memory, not in a
``-shm`` file, and so locks every other process out of the database."""


def make_engine(
    url: str, durability: Durability = Durability.FULL, *, alone: bool = False
) -> Engine:
    """Create an engine; for SQLite, in WAL mode with foreign keys and a busy timeout.

    ``alone``: open a SQLite file through :data:`ALONE_VFS` (see :func:`serving_engine`).
    """
    is_sqlite = url.startswith("sqlite")
    connect_args = {"check_same_thread": False, "timeout": 30} if is_sqlite else {}
    pooled: dict[str, Any] = {}
    if _pooled(url):
        pooled = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    path = sqlite_path(url)
    if alone and path is not None:
        pooled["creator"] = partial(
            sqlite3.connect, f"file:{path}?vfs={ALONE_VFS}", uri=True, **connect_args
        )
    if not is_sqlite:
        # A server may close pooled connections while they wait (a restart, a failover,
        # idle_session_timeout): test each on checkout (one round trip) rather than fail
        # the request, or the writer's reconnect, that draws it.
        pooled["pool_pre_ping"] = True
    # hide_parameters: a failed statement's message (logged with its traceback) must not
    # show its parameters, which can be a token or a note's text.
    engine = create_engine(url, connect_args=connect_args, hide_parameters=True, **pooled)
    path = sqlite_path(url)
    if path is not None:
        create_private(path)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(durability))
        event.listen(engine, "checkout", _busy_timeout_on_checkout)
    return engine


PRIVATE_FILE_MODE = 0o600
"""The database holds every note and every link: readable by its owner only."""


def create_private(path: Path) -> None:
    """Create a missing SQLite file with mode 0600 before SQLite creates it.

    SQLite creates a database 0644 under the usual umask, and its ``-wal`` and
    ``-shm`` files take the mode of the database file, so creating this one 0600
    makes all three private. An existing file keeps the mode its operator gave it.
    Where the file cannot be created (a missing or read-only folder), SQLite's own
    attempt, next, reports why.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        os.close(os.open(path, flags, PRIVATE_FILE_MODE))
    except FileExistsError:
        return
    except OSError as error:
        logger.debug("did not create %s ahead of SQLite: %s", path, error)


def _pooled(url: str) -> bool:
    """In-memory SQLite gets a single shared connection, not a queue pool."""
    return not url.startswith("sqlite") or sqlite_path(url) is not None


BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another's write lock (the writer's, a backup's)."""
_busy_timeout_ms: ContextVar[int] = ContextVar("busy_timeout_ms", default=BUSY_TIMEOUT_MS)


@contextmanager
def statement_busy_timeout(seconds: float) -> Iterator[None]:
    """SQLite connections checked out in this context (and threads it starts) wait this long."""
    token = _busy_timeout_ms.set(int(seconds * 1000))
    try:
        yield
    finally:
        _busy_timeout_ms.reset(token)


def _sqlite_pragmas(durability: Durability) -> Any:
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={durability.value.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()
        record.info["busy_timeout_ms"] = BUSY_TIMEOUT_MS

    return on_connect


def _busy_timeout_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Give the connection the busy timeout of the context that checks it out."""
    wanted = _busy_timeout_ms.get()
    if record.info.get("busy_timeout_ms") != wanted:  # a statement only when it changes
        dbapi_connection.execute(f"PRAGMA busy_timeout={wanted}")
        record.info["busy_timeout_ms"] = wanted


def serving_engine(url: str, durability: Durability) -> tuple[Engine, str | None]:
    """The engine a server serves ``url`` with, and why it holds the database alone (or None).

    A clean stop deletes a SQLite database's ``-shm`` index, and SQLite must write
    it (32 KB) before it reads anything: on a full disk every connection fails
    with "disk I/O error". The database is then opened through :data:`ALONE_VFS`,
    which keeps the index in memory: it serves what is saved, every write fails
    with "database or disk is full" until space is freed, and then succeeds.
    """
    path = sqlite_path(url)
    reason = None if path is None else _full_disk_on_open(path)
    return make_engine(url, durability, alone=reason is not None), reason


def _full_disk_on_open(path: Path) -> str | None:
    if not path.exists():
        return None
    # Read-only: closing it must not checkpoint the WAL (a write) as a last connection would.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        return None
    except sqlite3.OperationalError as error:
        return full_disk(error, path)
    finally:
        connection.close()


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer collab-notes than this one."""


def create_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the database's tables to this release's schema (Alembic migrations).

    A new database gets every migration; one written before Alembic is stamped
    with the revision its ``user_version`` names, then upgraded. A database
    already at the latest revision is only read, so a server can start on a
    full disk. Safe to run by hand: ``collab-notes migrate``. Returns the
    revision the database was at (None: empty) and the one it is at now.
    """
    assert models.Note.__tablename__  # the models module registers the tables
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Servers starting together on one database migrate it one after another.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        if _recorded_revision(connection) == SCHEMA_REVISION:
            return SCHEMA_REVISION, SCHEMA_REVISION
        return _migrate(connection)


def _recorded_revision(connection: Any) -> str | None:
    """The revision Alembic recorded in the database, read without Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()
    return None if found is None else str(found)


def _migrate(connection: Any) -> tuple[str | None, str]:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = _alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None and inspect(connection).has_table("note"):
        current = _legacy_revision(connection)
        command.stamp(config, current)
        logger.info("database from before schema migrations: stamped revision %s", current)
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise SchemaTooNew(
            f"the database is at schema revision {current}, newer than this collab-notes "
            f"knows ({script.get_current_head()}); upgrade collab-notes or use another database"
        )
    head = str(script.get_current_head())
    if current != head:
        command.upgrade(config, "head")
        logger.info("database schema at revision %s (was %s)", head, current or "empty")
    return current, head


def schema_revisions() -> tuple[str, set[str]]:
    """The newest schema revision this release knows, and every one it knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    return str(script.get_current_head()), {r.revision for r in script.walk_revisions()}


def _alembic_config(connection: Any) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _legacy_revision(connection: Any) -> str:
    """The revision of a database made before Alembic (its tables exist, unversioned)."""
    if connection.dialect.name == "sqlite":
        version = int(connection.execute(text("PRAGMA user_version")).scalar_one())
        if version in LEGACY_REVISIONS:
            return LEGACY_REVISIONS[version]
    columns = {column["name"] for column in inspect(connection).get_columns("note")}
    return "0002" if "deleted_at" in columns else "0001"


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
