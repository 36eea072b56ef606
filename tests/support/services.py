"""Real PostgreSQL, Redis and nginx servers for tests, on free ports in temporary folders.

PostgreSQL and Redis come from the bench's launcher (``bench/harness/backends.py``,
on the tests' path): the tests and the bench start them the same way, from one
module. Debian's packages (``scripts/test`` installs them). Each test gets a
database of its own.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

# PostgreSQL and Redis are started by the bench's launcher, one module for both.
from harness.backends import Postgres, Redis, end, pg_bin

from support.server import free_port

__all__ = ["Postgres", "Redis", "pg_bin", "postgres_server", "redis_server"]


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
        end(self.proc)


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
