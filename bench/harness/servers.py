"""The servers under test: how to start each on a loopback port, and stop it.

Every start is a fresh process (and, for collab-notes, a fresh database), so no
measurement inherits rooms, memory or a warm cache from the one before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.backends import Backends, free_port
from harness.paths import BENCH, Paths

COLLAB = "collab-notes"
YWSS = "y-websocket-server"
HOCUSPOCUS = "hocuspocus"
PYCRDT = "pycrdt-websocket"
PEERS = (YWSS, HOCUSPOCUS, PYCRDT)
BASELINE = "collab-notes-baseline"
"""collab-notes at another commit (``bench/run --baseline REF``), beside today's in one run."""
NO_METRICS = "collab-notes-no-metrics"
"""collab-notes with ``--no-metrics``: what the metrics cost the keystroke path."""
POSTGRES = "collab-notes-pg"
"""One collab-notes process on PostgreSQL: what the two-process figures are compared with."""
TWO_PROCESSES = "collab-notes-pg-redis-2p"
"""Two collab-notes processes on one PostgreSQL and Redis: writers on the first, readers on the
second, so every timed edit crosses from one process to the other."""


# Every client of the load generator comes from 127.0.0.1 and types faster than a
# person: collab-notes' limits against abuse (64 connections per address, 1,000
# messages a second per connection) would refuse the very load being measured.
# The peers have no such limits.
LOAD_TEST_FLAGS = ("--max-connections-per-address", "0", "--max-messages-per-s", "0")
# A scenario creates its notes in a burst (100 for the idle one), past the 60 a minute
# one address may create. Set through the environment, which a baseline from before
# the option ignores, where it would refuse an unknown flag.
LOAD_TEST_ENV = {"COLLAB_MAX_NOTES_CREATED_PER_MINUTE": "0"}


@dataclass(frozen=True)
class ServerSpec:
    """One configuration of one server."""

    name: str  # unique, used on the command line and in tables
    kind: str  # the load generator's name for the protocol family (see loadgen/servers.mjs)
    label: str  # how tables show it
    collab_flags: tuple[str, ...] = ()  # extra flags of `collab-notes serve`
    code: Path | None = None  # run collab-notes from this checkout instead of the venv's
    database: str = "sqlite"  # collab-notes' database: "sqlite" (a file) or "postgres"
    processes: int = 1  # collab-notes processes; two share the note through Redis

    @property
    def is_collab(self) -> bool:
        return self.kind == COLLAB


SERVERS: dict[str, ServerSpec] = {
    spec.name: spec
    for spec in (
        ServerSpec(COLLAB, COLLAB, "collab-notes", ("--durability", "full")),
        ServerSpec(
            "collab-notes-normal",
            COLLAB,
            "collab-notes (durability normal)",
            ("--durability", "normal"),
        ),
        ServerSpec(
            "collab-notes-deflate",
            COLLAB,
            "collab-notes (permessage-deflate)",
            ("--durability", "full", "--ws-per-message-deflate"),
        ),
        ServerSpec(BASELINE, COLLAB, "collab-notes (baseline)", ("--durability", "full")),
        ServerSpec(
            NO_METRICS,
            COLLAB,
            "collab-notes (no metrics)",
            ("--durability", "full", "--no-metrics"),
        ),
        ServerSpec(POSTGRES, COLLAB, "collab-notes (PostgreSQL, 1 process)", database="postgres"),
        ServerSpec(
            TWO_PROCESSES,
            COLLAB,
            "collab-notes (PostgreSQL + Redis, 2 processes)",
            database="postgres",
            processes=2,
        ),
        ServerSpec(YWSS, YWSS, "@y/websocket-server"),
        ServerSpec(HOCUSPOCUS, HOCUSPOCUS, "Hocuspocus"),
        ServerSpec(PYCRDT, PYCRDT, "pycrdt-websocket"),
    )
}


class ServerFailed(RuntimeError):
    """A server did not come up, or died while being measured."""


@dataclass
class RunningServer:
    """A started server process; use :func:`running`."""

    spec: ServerSpec
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    log: Path
    extra: dict[str, str] = field(default_factory=dict)
    # A second process serving the same notes (TWO_PROCESSES): readers connect to it.
    second: subprocess.Popen[bytes] | None = None
    second_port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def pids(self) -> list[int]:
        """Every process of this server: CPU and memory are their sum."""
        return [p.pid for p in (self.process, self.second) if p is not None]

    @property
    def database(self) -> Path:
        """The SQLite file of a collab-notes server."""
        return self.workdir / "notes.db"

    def loadgen_view(self) -> dict[str, object]:
        """What the load generator needs to know about this server."""
        view: dict[str, object] = {"kind": self.spec.kind, "port": self.port}
        if self.second_port is not None:
            view["reader_port"] = self.second_port
        return view

    def check_alive(self) -> None:
        for process in (self.process, self.second):
            if process is not None and process.poll() is not None:
                raise ServerFailed(
                    f"{self.spec.name} exited with {process.returncode}; see {self.log}"
                )


def _argv(
    spec: ServerSpec,
    paths: Paths,
    port: int,
    workdir: Path,
    flags: tuple[str, ...],
    database_url: str | None = None,
) -> tuple[list[str], dict[str, str], Path]:
    """The command line, extra environment and working directory of a server."""
    if spec.kind == COLLAB:
        if spec.code is not None:
            # Another checkout's packages first on the path, the venv's dependencies after.
            command = [sys.executable, "-m", "web.cli"]
            extra_env = {"PYTHONPATH": str(spec.code), **LOAD_TEST_ENV}
        else:
            command, extra_env = [str(paths.collab_notes)], {**LOAD_TEST_ENV}
        argv = [
            *command,
            "serve",
            "--port",
            str(port),
            "--database-url",
            database_url or f"sqlite:///{workdir / 'notes.db'}",
            "--log-level",
            "warning",
            *LOAD_TEST_FLAGS,
            *spec.collab_flags,
            *flags,
        ]
        return argv, extra_env, workdir
    if spec.kind == YWSS:
        script = paths.node_peers / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
        return ["node", str(script)], {"HOST": "127.0.0.1", "PORT": str(port)}, paths.node_peers
    if spec.kind == HOCUSPOCUS:
        return ["node", "hocuspocus.mjs", str(port)], {}, paths.node_peers
    if spec.kind == PYCRDT:
        script = BENCH / "servers" / "pycrdt_server.py"
        return [str(paths.pycrdt_python), str(script), str(port)], {}, workdir
    raise ValueError(f"no way to start a server of kind {spec.kind!r}")


@contextlib.contextmanager
def running(
    spec: ServerSpec,
    paths: Paths,
    logs: Path,
    *,
    flags: tuple[str, ...] = (),
    workdir: Path | None = None,
    backends: Backends | None = None,
) -> Iterator[RunningServer]:
    """Start the server, wait until it answers, yield it, stop it.

    ``workdir`` keeps a collab-notes database across starts (the restore
    scenario); by default each start gets a new one, removed afterwards.
    ``backends`` provides PostgreSQL and Redis to the configurations that use them.
    """
    paths.data.mkdir(parents=True, exist_ok=True)
    owned = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"{spec.name}-", dir=paths.data))
    database_url, flags = _storage(spec, backends, flags)
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process, log = _start(spec, paths, logs, port, workdir, flags, database_url)
    server = RunningServer(spec, port, process, workdir, log)
    try:
        _wait_ready(server)
        if spec.processes == 2:
            # Started once the first has migrated the new database, as an operator would.
            server.second_port = free_port()
            server.second, _ = _start(
                spec, paths, logs, server.second_port, workdir, flags, database_url
            )
            _wait_ready(server, port=server.second_port)
        yield server
    finally:
        for running_process in (server.second, process):
            if running_process is not None:
                stop(running_process)
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)


def _storage(
    spec: ServerSpec, backends: Backends | None, flags: tuple[str, ...]
) -> tuple[str | None, tuple[str, ...]]:
    """The database URL (None: a SQLite file in the workdir) and flags for Redis."""
    if spec.database == "sqlite":
        return None, flags
    if backends is None:
        raise ServerFailed(f"{spec.name} needs PostgreSQL: run it through bench/run")
    url = backends.postgres_database()
    if spec.processes > 1:
        flags = (*flags, "--redis-url", backends.redis_url())
    return url, flags


def _start(
    spec: ServerSpec,
    paths: Paths,
    logs: Path,
    port: int,
    workdir: Path,
    flags: tuple[str, ...],
    database_url: str | None,
) -> tuple[subprocess.Popen[bytes], Path]:
    argv, env, cwd = _argv(spec, paths, port, workdir, flags, database_url)
    log = logs / f"{spec.name}-{port}.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, log


def _wait_ready(server: RunningServer, timeout_s: float = 60.0, port: int | None = None) -> None:
    port = port or server.port
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server.check_alive()
        if _answers(server, port):
            return
        time.sleep(0.05)
    raise ServerFailed(
        f"{server.spec.name} did not answer on port {port} "
        f"within {timeout_s:.0f} s; see {server.log}"
    )


def _answers(server: RunningServer, port: int) -> bool:
    if server.spec.is_collab:  # the port opens before the app's lifespan has finished
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return True
        except OSError:
            return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGINT (every server here stops cleanly on it), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def use_baseline(ref: str, paths: Paths) -> str:
    """Check out ``ref`` beside the scratch data and point the baseline server at it.

    Returns the commit's short hash. The checkout is a detached git worktree
    outside the repository's tree, made afresh for each invocation.
    """
    from harness.paths import REPO

    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    checkout = paths.home / f"baseline-{commit}"
    if not checkout.exists():
        paths.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout), commit],
            check=True,
            capture_output=True,
        )
    spec = SERVERS[BASELINE]
    SERVERS[BASELINE] = dataclasses.replace(spec, label=f"collab-notes @ {commit}", code=checkout)
    return commit
