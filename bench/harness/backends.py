"""PostgreSQL and Redis servers on free ports in temporary folders: the one launcher
that the bench (for its scale-out configurations) and the tests
(``tests/support/services.py``, which imports it) both use. It needs nothing of
pytest.

Debian's ``postgresql`` and ``redis-server`` packages, each on a free port of
127.0.0.1 in a folder the postgres user must be able to reach (a home folder may
not allow it). PostgreSQL refuses to run as root, so as root ``initdb`` and the
server run as the ``postgres`` user the package creates. Each server start (or
test) gets a database of its own; Redis runs without persistence (it only rings
doorbells).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")


class MissingService(FileNotFoundError):
    """PostgreSQL or Redis is not installed."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pg_bin(tool: str) -> str:
    """The newest installed PostgreSQL's ``tool`` (initdb, pg_ctl, ...), or the one on PATH."""
    for folder in sorted(PG_ROOT.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (folder / tool).exists():
            return str(folder / tool)
    found = shutil.which(tool)
    if found is None:
        raise MissingService(f"{tool} not found: apt-get install postgresql")
    return found


class Postgres:
    """One PostgreSQL server in ``folder``; :meth:`create_database` for each user of it."""

    user = "collab"

    def __init__(
        self, folder: Path, *, max_connections: int = 400, shared_buffers: str = "32MB"
    ) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.password = secrets.token_hex(8)
        self.settings = f"-c max_connections={max_connections} -c shared_buffers={shared_buffers}"
        self._prefix: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # initdb and postgres refuse root
            owner = pwd.getpwnam("postgres")
            self._prefix = ["runuser", "-u", "postgres", "--"]
            os.chown(folder, owner.pw_uid, owner.pw_gid)

    def _run(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run([*self._prefix, *argv], check=True, capture_output=True, timeout=timeout)

    def start(self) -> Postgres:
        secret = self.folder / "password"
        secret.write_text(self.password)
        with contextlib.suppress(PermissionError):
            shutil.chown(secret, *_owner(self.folder))
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(secret),
                  "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C")  # fmt: skip
        return self.resume()

    def resume(self) -> Postgres:
        """Start the server (again, after :meth:`stop`) on its data and port.

        Default durability (fsync on, synchronous_commit on): a commit is on disk,
        as collab-notes' ``--durability full`` is with SQLite.
        """
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 {self.settings}"
        log = str(self.folder / "server.log")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-o", options, "start")
        return self

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = "db_" + secrets.token_hex(6)
        auth = f"host=127.0.0.1 port={self.port} user={self.user} password={self.password}"
        with psycopg.connect(auth + " dbname=postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (``fast``, or ``immediate`` as a crash would)."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


def end(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, and SIGKILL if it is still running 10 s later."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class Redis:
    """One redis-server in ``folder`` on a free port, without persistence, restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
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
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._pongs():
                return self
            time.sleep(0.02)
        raise TimeoutError(f"redis-server did not answer on port {self.port}")

    def _pongs(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: as a crash would (pub/sub messages in flight are lost)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        end(self.proc)


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
            # The bench's settings since its first runs (the tests take the defaults).
            folder = self._dir("postgres")
            self._postgres = Postgres(folder, max_connections=200, shared_buffers="64MB").start()
        return self._postgres.create_database()

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
