"""Drive a stock npm Yjs client (``client.mjs``) from asyncio tests.

Each :class:`NodeClient` is one Node process running ``yjs`` + ``y-websocket``
against a y-websocket server. Commands go to the process as JSON lines on
stdin; events come back as JSON lines on stdout and are queued until a test
consumes them with :meth:`NodeClient.wait_for`.

Example::

    from interop.nodeclient import NodeClient  # tests/ is on pytest's pythonpath

    async with NodeClient.start("ws://127.0.0.1:8000/ws", "note-1", name="alice") as a:
        await a.insert(0, "hello")
        assert await a.text() == "hello"
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["ClientExited", "CommandError", "Event", "NodeClient", "Predicate"]

INTEROP_DIR = Path(__file__).resolve().parent
CLIENT_SCRIPT = INTEROP_DIR / "client.mjs"
INSTALL_HINT = "npm ci --prefix tests/interop"

Event = dict[str, Any]
"""One decoded stdout line. ``event`` names it; ``received_at`` is the
:func:`time.monotonic` instant the Python side read it."""

Predicate = Callable[[Event], bool] | str
"""Either a callable tested against each event, or an event name."""


class ClientExited(RuntimeError):
    """The Node process ended while a test was still waiting on it."""


class CommandError(RuntimeError):
    """client.mjs answered a command with an ``error`` event."""


def _as_predicate(pred: Predicate) -> Callable[[Event], bool]:
    if isinstance(pred, str):
        name = pred
        return lambda ev: ev.get("event") == name
    return pred


def _check_installed() -> None:
    if not (INTEROP_DIR / "node_modules" / "y-websocket").is_dir():
        raise RuntimeError(
            f"Node dependencies for the interop tests are missing in {INTEROP_DIR}; "
            f"install them with `{INSTALL_HINT}` (run from the repository root)."
        )
    if shutil.which("node") is None:
        raise RuntimeError("`node` (Node.js >= 20) is not on PATH; the interop tests need it.")


class NodeClient:
    """One stock Yjs websocket client running in its own Node process.

    Create instances with :meth:`start`. Every event the process prints is
    appended to :attr:`events` (full history, never consumed) and to a pending
    queue that :meth:`wait_for` consumes from, oldest first.
    """

    def __init__(self, proc: asyncio.subprocess.Process, label: str) -> None:
        self._proc = proc
        self.label = label
        self.events: list[Event] = []
        self.client_id: int | None = None
        self._pending: list[Event] = []
        self._cond = asyncio.Condition()
        self._eof = False
        self._stderr: list[str] = []
        self._next_id = 0
        self._tasks = [
            asyncio.create_task(self._read_stdout(), name=f"{label}-stdout"),
            asyncio.create_task(self._read_stderr(), name=f"{label}-stderr"),
        ]

    # ------------------------------------------------------------------ startup

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        ws_base_url: str,
        room: str,
        *,
        name: str | None = None,
        watch: bool = False,
        reconnect: bool = True,
        max_backoff_ms: int | None = None,
        params: Mapping[str, str] | None = None,
        wait_synced: bool = True,
        timeout: float = 10.0,
        node: str = "node",
    ) -> AsyncIterator[NodeClient]:
        """Spawn a client for ``room`` and yield it; always reap it on exit.

        ``ws_base_url`` is the server's websocket prefix (the client connects to
        ``ws_base_url + "/" + room``). ``name`` sets the awareness field
        ``user: {name}``; ``watch`` turns on ``update`` events for every text
        change; ``reconnect=False`` stops the client from reconnecting after
        its socket closes; ``params`` become URL query parameters. With
        ``wait_synced`` the context is entered only after the first ``synced``
        event; otherwise only after ``ready``.
        """
        _check_installed()
        argv = [node, str(CLIENT_SCRIPT)]
        if name is not None:
            argv += ["--name", name]
        if watch:
            argv.append("--watch")
        if not reconnect:
            argv.append("--no-reconnect")
        if max_backoff_ms is not None:
            argv += ["--max-backoff-ms", str(max_backoff_ms)]
        for key, value in (params or {}).items():
            argv += ["--param", f"{key}={value}"]
        # After "--": a token may start with "-" (base64url), and is no flag then.
        argv += ["--", ws_base_url, room]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(INTEROP_DIR),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        client = cls(proc, name or f"node-{proc.pid}")
        try:
            ready = await client.wait_for("ready", timeout=timeout)
            client.client_id = int(ready["client_id"])
            if wait_synced:
                await client.wait_for("synced", timeout=timeout)
            yield client
        finally:
            await client.close()

    # ------------------------------------------------------------------ readers

    async def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        try:
            while True:
                line = await self._proc.stdout.readline()
                if not line:
                    break
                text = line.decode("utf-8", "replace").strip()
                if not text:
                    continue
                try:
                    ev = json.loads(text)
                    if not isinstance(ev, dict):
                        raise ValueError("not an object")
                except ValueError:
                    ev = {"event": "_raw", "line": text}
                ev["received_at"] = time.monotonic()
                async with self._cond:
                    self.events.append(ev)
                    self._pending.append(ev)
                    self._cond.notify_all()
        finally:
            async with self._cond:
                self._eof = True
                self._cond.notify_all()

    async def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        while True:
            line = await self._proc.stderr.readline()
            if not line:
                return
            self._stderr.append(line.decode("utf-8", "replace").rstrip("\n"))

    # ------------------------------------------------------------------ core API

    @property
    def pid(self) -> int:
        """Process id of the Node client."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once the process has been reaped, else ``None``."""
        return self._proc.returncode

    @property
    def stderr(self) -> str:
        """Everything the process wrote to stderr so far."""
        return "\n".join(self._stderr)

    async def send(self, command: Mapping[str, Any]) -> int:
        """Write one command line; returns the ``id`` attached to it.

        An ``id`` is added unless the command already has one; the reply
        event (``ack``, a result, ``typed`` or ``error``) carries the same id.
        """
        cmd = dict(command)
        if "id" not in cmd:
            self._next_id += 1
            cmd["id"] = self._next_id
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing() or self._proc.returncode is not None:
            raise ClientExited(f"{self.label}: process is gone; cannot send {cmd}")
        stdin.write((json.dumps(cmd) + "\n").encode())
        try:
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ClientExited(f"{self.label}: stdin closed while sending {cmd}") from exc
        return int(cmd["id"])

    async def wait_for(self, predicate: Predicate, timeout: float = 5.0) -> Event:
        """Return and consume the oldest unconsumed event matching ``predicate``.

        Events that arrived before the call are considered first, so there is
        no window in which a matching event can be missed. Raises
        :class:`TimeoutError` after ``timeout`` seconds, or
        :class:`ClientExited` as soon as the process has ended without a match.
        """
        match = _as_predicate(predicate)

        def take() -> Event | None:
            for i, ev in enumerate(self._pending):
                if match(ev):
                    return self._pending.pop(i)
            return None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while True:
                found = take()
                if found is not None:
                    return found
                if self._eof:
                    raise ClientExited(
                        f"{self.label} exited (rc={self._proc.returncode}) before a "
                        f"matching event; stderr:\n{self.stderr}"
                    )
                remaining = deadline - loop.time()
                if remaining <= 0:
                    seen = [ev.get("event") for ev in self._pending[-20:]]
                    raise TimeoutError(
                        f"{self.label}: no matching event within {timeout}s; "
                        f"last unconsumed: {seen}; stderr:\n{self.stderr}"
                    )
                # Only the wait is bounded; matching happens under the lock, so a
                # timeout can never swallow an event that was already taken.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait(), remaining)

    def drain(self, predicate: Predicate | None = None) -> list[Event]:
        """Consume and return all pending events (optionally only matching ones)."""
        match = _as_predicate(predicate) if predicate is not None else (lambda _ev: True)
        taken = [ev for ev in self._pending if match(ev)]
        self._pending = [ev for ev in self._pending if not match(ev)]
        return taken

    async def request(self, command: Mapping[str, Any], timeout: float = 5.0) -> Event:
        """Send a command and wait for the reply carrying its id."""
        cmd_id = await self.send(command)
        reply = await self.wait_for(
            lambda ev: ev.get("id") == cmd_id and ev.get("event") != "_raw", timeout
        )
        if reply.get("event") == "error":
            raise CommandError(f"{self.label}: {command} failed: {reply.get('message')}")
        return reply

    # ------------------------------------------------------------------ helpers

    async def text(self, timeout: float = 5.0) -> str:
        """Current content of the shared ``Y.Text`` named ``content``."""
        return str((await self.request({"cmd": "text"}, timeout))["text"])

    async def insert(self, index: int, text: str, timeout: float = 5.0) -> None:
        """Insert ``text`` at ``index`` in one local transaction (applied on return)."""
        await self.request({"cmd": "insert", "index": index, "text": text}, timeout)

    async def delete(self, index: int, length: int, timeout: float = 5.0) -> None:
        """Delete ``length`` characters from ``index`` in one local transaction."""
        await self.request({"cmd": "delete", "index": index, "length": length}, timeout)

    async def type_text(
        self, text: str, interval_ms: float = 0, *, wait: bool = True, timeout: float = 30.0
    ) -> int:
        """Type ``text`` at the end, one transaction per character.

        With ``wait`` the call returns once every character was applied
        locally; otherwise it returns immediately and the ``typed`` event
        (matching the returned id) arrives later.
        """
        cmd_id = await self.send({"cmd": "type", "text": text, "interval_ms": interval_ms})
        if wait:
            reply = await self.wait_for(lambda ev: ev.get("id") == cmd_id, timeout)
            if reply.get("event") == "error":
                raise CommandError(f"{self.label}: typing failed: {reply.get('message')}")
        return cmd_id

    async def set_awareness(self, state: Mapping[str, Any] | None, timeout: float = 5.0) -> None:
        """Replace the local awareness state (``None`` announces leaving)."""
        await self.request({"cmd": "awareness", "state": state}, timeout)

    async def peers(self, timeout: float = 5.0) -> dict[int, Any]:
        """All awareness states this client knows, own state included."""
        reply = await self.request({"cmd": "peers"}, timeout)
        return {int(k): v for k, v in reply["states"].items()}

    async def wait_text(self, expected: str, timeout: float = 5.0) -> str:
        """Wait until the document text equals ``expected`` (polls via ``text``)."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self.text(timeout)
            if current == expected:
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.label}: text is {current!r}, expected {expected!r}")
            # Block until something new arrives rather than spinning.
            with contextlib.suppress(TimeoutError):
                await self._next_event(min(remaining, 0.5))

    async def _next_event(self, timeout: float) -> None:
        count = len(self.events)
        async with self._cond:
            await asyncio.wait_for(
                self._cond.wait_for(lambda: len(self.events) > count or self._eof), timeout
            )

    # ------------------------------------------------------------------ shutdown

    def kill(self) -> None:
        """SIGKILL the process: no close frame, no awareness goodbye."""
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def quit(self, timeout: float = 3.0) -> int:
        """Ask the client to leave cleanly; SIGKILL it if it does not exit in time."""
        if self._proc.returncode is None:
            with contextlib.suppress(ClientExited, ConnectionError):
                await self.send({"cmd": "quit"})
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
            except TimeoutError:
                self.kill()
        return await self._proc.wait()

    async def close(self) -> None:
        """Quit (or kill) the process, reap it, and stop the reader tasks."""
        try:
            await self.quit()
        finally:
            self.kill()
            await self._proc.wait()
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            for task in self._tasks:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 1.0)
