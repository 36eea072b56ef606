"""Real PostgreSQL and Redis servers for tests, started on free ports in temporary folders.

Debian's ``postgresql`` and ``redis-server`` packages (``scripts/test`` installs them).
PostgreSQL refuses to run as root, so as root ``initdb`` and the server run as the
``postgres`` user the package creates. Each test gets a database of its own.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from support.server import free_port

PG_BIN = Path("/usr/lib/postgresql")


def pg_bin(tool: str) -> str:
    """The newest PostgreSQL's ``tool`` (initdb, pg_ctl, ...), or the one on PATH."""
    versions = sorted(PG_BIN.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for folder in versions:
        if (folder / tool).exists():
            return str(folder / tool)
    found = shutil.which(tool)
    if found is None:
        raise FileNotFoundError(f"{tool} not found: install Debian's postgresql package")
    return found


def _as_postgres_user() -> tuple[list[str], int | None, int | None]:
    """A command prefix and uid/gid that run PostgreSQL's tools as a non-root user."""
    if os.geteuid() != 0:
        return [], None, None
    user = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


class Postgres:
    """One PostgreSQL server in ``folder``, on a free port of 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.user = "collab"
        self.password = secrets.token_hex(8)
        self._prefix, uid, gid = _as_postgres_user()
        folder.mkdir(parents=True, exist_ok=True)
        if uid is not None and gid is not None:
            os.chown(folder, uid, gid)

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self._prefix, *args], check=True, capture_output=True, timeout=timeout)

    def start(self) -> Postgres:
        password_file = self.folder / "pw"
        password_file.write_text(self.password)
        with contextlib.suppress(PermissionError):
            shutil.chown(password_file, *(_owner(self.folder)))
        self._run(
            pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--pwfile",
            str(password_file),
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        return self.resume()

    def resume(self) -> Postgres:
        """Start the server (again, after :meth:`stop`) on its data and port."""
        self._run(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=400 -c shared_buffers=32MB",
            "start",
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = "t" + secrets.token_hex(6)
        dsn = f"host=127.0.0.1 port={self.port} user={self.user} password={self.password}"
        with psycopg.connect(dsn + " dbname=postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _end(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, and SIGKILL if it is still running 10 s later."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


class Redis:
    """One redis-server in ``folder`` on a free port, restartable on the same port."""

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
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.folder),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            time.sleep(0.02)
        raise TimeoutError(f"redis-server did not answer on {self.port}")

    def kill(self) -> None:
        """SIGKILL: as a crash would (pub/sub messages in flight are lost)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        _end(self.proc)


@contextlib.contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A PostgreSQL server of its own, in a folder the ``postgres`` user may enter.

    (pytest's own temporary folders are its owner's alone.)
    """
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="collab-notes-pg-"))
    folder.chmod(0o755)
    try:
        server = Postgres(folder / "pg").start()
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[Redis]:
    server = Redis(folder).start()
    try:
        yield server
    finally:
        server.stop()


class Nginx:
    """Debian's nginx on a free port, running the shipped ``deploy/nginx.conf``.

    Only its ``listen`` line and its upstream's ``server`` lines are replaced (see
    :func:`shipped_nginx_conf`), so the tests prove the file an operator installs:
    round robin, no sticky sessions, a refused connection moves on to the next
    upstream.
    """

    def __init__(self, folder: Path, upstreams: list[int]) -> None:
        self.folder = folder
        self.port = free_port()
        self.upstreams = upstreams
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def config(self) -> str:
        """The main configuration: a private prefix, and the shipped file included."""
        include = self.folder / "collab-notes.conf"
        include.write_text(shipped_nginx_conf(self.port, self.upstreams))
        temp = self.folder / "temp"
        return f"""
worker_processes 1;
pid {self.folder}/nginx.pid;
error_log {self.folder}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {self.folder}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {include};
}}
"""

    def start(self, timeout_s: float = 10) -> Nginx:
        (self.folder / "temp").mkdir(exist_ok=True)
        conf = self.folder / "nginx.conf"
        conf.write_text(self.config())
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        with open(self.folder / "stderr.log", "wb") as stderr:
            self.proc = subprocess.Popen(
                [binary, "-p", str(self.folder), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.folder / 'stderr.log').read_text()}")
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            time.sleep(0.02)
        raise TimeoutError(f"nginx did not listen on {self.port}")

    def stop(self) -> None:
        _end(self.proc)


DEPLOY_NGINX = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
_LISTEN = re.compile(r"^([ \t]*)listen\s+[^;]+;", re.MULTILINE)
_UPSTREAM = re.compile(r"^upstream collab_notes \{\n(.*?)^\}", re.MULTILINE | re.DOTALL)
_SERVER = re.compile(r"^([ \t]*)server\s+\S+(.*);$", re.MULTILINE)


def shipped_nginx_conf(port: int, upstreams: list[int], source: Path = DEPLOY_NGINX) -> str:
    """``deploy/nginx.conf`` listening on 127.0.0.1:``port``, proxying to ``upstreams``.

    The upstream's servers keep the options of the file's first one. Raises
    ``RuntimeError`` if the file no longer has exactly one ``listen`` line and an
    ``upstream collab_notes`` block with servers: the harness must not quietly test
    something else than what is shipped.
    """
    text = source.read_text()
    text, listens = _LISTEN.subn(rf"\g<1>listen 127.0.0.1:{port};", text)
    block = _UPSTREAM.search(text)
    servers = _SERVER.findall(block.group(1)) if block else []
    if listens != 1 or block is None or not servers:
        raise RuntimeError(
            f"{source} must have one listen line and an upstream collab_notes block with "
            f"server lines (found {listens} listen lines, upstream: {block is not None})"
        )
    indent, options = servers[0]
    lines = "".join(f"{indent}server 127.0.0.1:{p}{options};\n" for p in upstreams)
    kept = "".join(
        line for line in block.group(1).splitlines(keepends=True) if not _SERVER.match(line)
    )
    body = kept + lines
    return text[: block.start(1)] + body + text[block.end(1) :]
