"""Start the real ``collab-notes serve`` in a subprocess on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

import httpx
from harness.backends import free_port as free_port  # one copy, the launcher's

from support import forked
from support.http import http


class _Forked:
    """The part of ``Popen`` the tests use, over a process of ``support.forked``."""

    def __init__(self, process: BaseProcess) -> None:
        self.process = process
        assert process.pid is not None
        self.pid: int = process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def poll(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("collab-notes serve", timeout or 0)
        return self.process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.process.exitcode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ServerProcess:
    """One server process over one database; restartable on the same port and database."""

    def __init__(
        self, db: Path | str, log_dir: Path, *args: str, env: dict[str, str] | None = None
    ):
        """Serve ``db`` (a SQLite file, or any database URL), logging into ``log_dir``."""
        self.database_url = db if isinstance(db, str) else f"sqlite:///{db}"
        self.log_dir = log_dir
        self.args = list(args)
        self.env = env or {}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | _Forked | None = None
        self.starts = 0

    @property
    def db_path(self) -> Path:
        """The SQLite file it serves (for tests that open it themselves)."""
        assert self.database_url.startswith("sqlite:///"), "this server does not serve SQLite"
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def cli_args(self) -> list[str]:
        """What follows ``collab-notes`` on its command line."""
        return ["serve", "--port", str(self.port), "--database-url", self.database_url, *self.args]

    def command(self) -> list[str]:
        return [sys.executable, "-m", "web.cli", *self.cli_args()]

    @property
    def forkable(self) -> bool:
        """Whether a fork of an interpreter that imported the server runs it as a new one does.

        Not with ``PYTHON*`` variables (they act as an interpreter starts), nor with
        ``--workers`` (its supervisor's children may not be a fork server's).
        """
        return not any(name.startswith("PYTHON") for name in self.env) and not any(
            arg.startswith("--workers") for arg in self.args
        )

    def start(self, timeout_s: float = 20.0, *, healthy: bool = True) -> ServerProcess:
        """Start and wait until /healthz answers 200 (any answer, if not ``healthy``)."""
        self.starts += 1
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        log_path = self.log_dir / f"server-{self.port}-{self.starts}.log"
        if self.forkable:
            log_path.touch()
            self.proc = _Forked(forked.start(self.cli_args(), env, str(log_path)))
        else:
            with open(log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT, env=env
                )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if http.get(self.url + "/healthz", timeout=1).status_code == 200 or not healthy:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not healthy within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        """Everything every start of this server wrote."""
        parts = sorted(self.log_dir.glob(f"server-{self.port}-*.log"))
        return "".join(p.read_text(errors="replace") for p in parts)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout_s: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def discard(self) -> None:
        """The test is over: SIGKILL, if it still runs.

        Nothing of a stop is under test then (tests about stopping stop the server
        themselves and check how), and a graceful stop costs uvicorn's ticks:
        0.35-0.4 s a server, many times over in a run.
        """
        if self.proc is not None and self.proc.poll() is None:
            self.kill()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def post_note(self, content: str | None = None) -> dict[str, Any]:
        body = {} if content is None else {"content": content}
        response = http.post(self.url + "/api/notes", json=body, timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def get_note(self, token: str) -> httpx.Response:
        return http.get(f"{self.url}/api/notes/{token}", timeout=10)


class MakeServer(Protocol):
    """The ``make_server`` fixture: a server process over the test's database (or
    ``db``), with these command-line arguments and environment, not yet started."""

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, db: Path | str | None = None
    ) -> ServerProcess: ...
