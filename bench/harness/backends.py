"""PostgreSQL and Redis for the scale-out configurations, started by the bench itself.

Debian's ``postgresql`` and ``redis-server`` packages, each on a free port of
127.0.0.1 in a temporary folder (the postgres user must be able to reach it,
which a home folder may not allow), started on first use and
stopped when the invocation ends. PostgreSQL refuses to run as root, so as root
``initdb`` and the server run as the ``postgres`` user the package creates. Each
server start gets a database of its own; Redis is shared (its channels are named
after notes, and every start makes new notes).

The tests start the same servers the same way (tests/support/services.py); the
bench keeps its own copy so that it needs nothing of pytest.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")


class MissingService(RuntimeError):
    """PostgreSQL or Redis is not installed."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pg_tool(name: str) -> str:
    """The newest installed PostgreSQL's ``name`` (initdb, pg_ctl)."""
    for folder in sorted(PG_ROOT.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise MissingService(f"{name} not found: apt-get install postgresql")
    return found


class Postgres:
    """One PostgreSQL server in ``folder``; :meth:`new_database` for each server start."""

    user = "bench"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.password = secrets.token_hex(8)
        self._prefix: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # initdb and postgres refuse root
            owner = pwd.getpwnam("postgres")
            self._prefix = ["runuser", "-u", "postgres", "--"]
            os.chown(folder, owner.pw_uid, owner.pw_gid)

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._prefix, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> Postgres:
        secret = self.folder / "password"
        secret.write_text(self.password)
        shutil.chown(secret, *_owner(self.folder))
        data = str(self.folder / "data")
        self._run(_pg_tool("initdb"), "-D", data, "-U", self.user, "--pwfile", str(secret),
                  "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C")  # fmt: skip
        # Default durability (fsync on, synchronous_commit on): a commit is on disk,
        # as collab-notes' --durability full is with SQLite.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        log = str(self.folder / "server.log")
        self._run(_pg_tool("pg_ctl"), "-D", data, "-l", log, "-w", "-o", options, "start")
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            data = str(self.folder / "data")
            self._run(_pg_tool("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")

    def new_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = "bench_" + secrets.token_hex(6)
        auth = f"host=127.0.0.1 port={self.port} user={self.user} password={self.password}"
        with psycopg.connect(auth + " dbname=postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


class Redis:
    """One redis-server in ``folder``, without persistence (it only rings doorbells)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10) -> Redis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise MissingService("redis-server not found: apt-get install redis-server")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._pongs():
                return self
            time.sleep(0.02)
        raise MissingService(f"redis-server did not answer on port {self.port}")

    def _pongs(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Backends:
    """PostgreSQL and Redis, each started the first time a server needs it."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._postgres: Postgres | None = None
        self._redis: Redis | None = None

    def _dir(self, name: str) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="collab-notes-bench-"))
            os.chmod(self._folder, 0o755)  # the postgres user must reach its folder
        return self._folder / name

    def postgres_database(self) -> str:
        if self._postgres is None:
            self._postgres = Postgres(self._dir("postgres")).start()
        return self._postgres.new_database()

    def redis_url(self) -> str:
        if self._redis is None:
            self._redis = Redis(self._dir("redis")).start()
        return self._redis.url

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()
        if self._redis is not None:
            self._redis.stop()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


@contextlib.contextmanager
def started() -> Iterator[Backends]:
    """Backends for one invocation; whatever was started is stopped at the end."""
    backends = Backends()
    try:
        yield backends
    finally:
        backends.close()
