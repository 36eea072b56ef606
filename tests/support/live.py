"""collab-notes served by a real uvicorn in a thread of the test process, on a free port.

It is the same server ``collab-notes serve`` runs (``web.cli.Server`` over
``create_app``), on real sockets, minus the process around it: it starts in a
tenth of a second instead of a second, so each test still gets a fresh server
and database. Tests that kill, signal or restart a server use ``ServerProcess``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from support.http import http
from support.server import free_port
from web.app import create_app
from web.cli import Server, _uvicorn_config
from web.deps import Services
from web.settings import Settings

SERVER_THREAD = "live server"


class _Lines(logging.Handler):
    """A server's log lines: not those another in-process server's thread logs as it stops."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.thread = ""
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        name = record.threadName or ""
        if name.startswith(SERVER_THREAD) and name != self.thread:
            return
        self.lines.append(self.format(record))


_discarded: list[tuple[LiveServer, float]] = []


def reap_discarded(timeout_s: float = 20.0, *, wait: bool = True) -> list[str]:
    """Forget discarded servers that have stopped; the logs of those stopping too long.

    With ``wait``, wait up to ``timeout_s`` from each one's discarding for it to stop.
    """
    stuck = []
    for server, since in list(_discarded):
        thread = server._thread
        assert thread is not None
        if wait:
            thread.join(max(0.0, since + timeout_s - time.monotonic()))
        if not thread.is_alive():
            _discarded.remove((server, since))
            logging.getLogger().removeHandler(server._logs)
        elif time.monotonic() > since + timeout_s:
            stuck.append(f"server {thread.name} did not stop within {timeout_s} s:\n{server.log()}")
    return stuck


class LiveServer:
    """One in-process server over one database file."""

    def __init__(self, db_path: Path | str, **settings: Any) -> None:
        """Serve ``db_path`` (a SQLite file) or a database URL."""
        url = db_path if isinstance(db_path, str) else f"sqlite:///{db_path}"
        self.settings = Settings(port=free_port(), database_url=url, **settings)
        self._logs = _Lines()
        self._level = logging.WARNING
        self._server: Server | None = None
        self._app: FastAPI | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.settings.port}/ws"

    @property
    def services(self) -> Services:
        """The running server's parts, for tests that inject a fault into one."""
        assert self._app is not None
        services = self._app.state.services
        assert isinstance(services, Services)
        return services

    def start(self, timeout_s: float = 20.0) -> LiveServer:
        """Start and wait until /healthz answers."""
        root = logging.getLogger()
        root.addHandler(self._logs)
        self._level = root.level
        root.setLevel(logging.INFO)
        app = self._app = create_app(self.settings)
        self._server = Server(_uvicorn_config(app, self.settings), app)
        self._logs.thread = f"{SERVER_THREAD} :{self.settings.port}"
        self._thread = threading.Thread(
            target=self._server.run, name=self._logs.thread, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError(f"server stopped while starting:\n{self.log()}")
            try:
                if http.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"server not healthy within {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        """Every line the server logged."""
        return "\n".join(self._logs.lines)

    def wait_for_log(self, *texts: str, timeout_s: float = 10.0) -> str:
        """Wait until a logged line holds one of ``texts``; return that line."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self._logs.lines):
                if any(text in line for text in texts):
                    return line
            time.sleep(0.01)
        raise TimeoutError(f"none of {texts} logged within {timeout_s} s:\n{self.log()[-3000:]}")

    @property
    def stopped_because(self) -> str | None:
        """Why the server stopped by itself (``serve`` then exits non-zero), or None."""
        return None if self._server is None else self._server.fatal

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop as SIGTERM would: peers hear 1001, writes finish."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise TimeoutError(f"server did not stop within {timeout_s} s:\n{self.log()}")
        self._detach_log()

    def discard(self) -> None:
        """The test is over: stop as ``stop`` does, without waiting for it.

        uvicorn's stop takes 0.15-0.25 s of ticks and fixed sleeps, paid by every
        test; the next test runs meanwhile on servers of its own. Tests about stopping
        call ``stop`` and check what it did; a discarded server that never finishes
        stopping fails the run (see ``reap_discarded``).
        """
        if self._server is None or self._thread is None or not self._thread.is_alive():
            self._detach_log()
            return
        self._server.should_exit = True
        logging.getLogger().setLevel(self._level)
        _discarded.append((self, time.monotonic()))
        stuck = reap_discarded(wait=False)
        assert not stuck, stuck[0]

    def _detach_log(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self._logs)
        root.setLevel(self._level)

    def post_note(self, content: str | None = None) -> dict[str, Any]:
        body = {} if content is None else {"content": content}
        response = http.post(self.url + "/api/notes", json=body, timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def get_note(self, token: str) -> httpx.Response:
        return http.get(f"{self.url}/api/notes/{token}", timeout=10)
