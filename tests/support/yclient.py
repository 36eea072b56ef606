"""A small y-websocket client on pycrdt, for tests against the real server.

It uses pycrdt's own sync helpers (not the server's protocol module) so that a
bug in our encoder cannot hide itself on both ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import pycrdt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from collab import awareness, protocol


class YClient:
    """One connection to ``/ws/{token}`` with a local pycrdt document."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.states: dict[int, dict[str, Any]] = {}
        self.received: list[bytes] = []
        self.noticed: list[tuple[dict[str, Any], str]] = []  # each notice, and the text then
        self._changed = asyncio.Condition()
        self._remote = False
        self._awareness_clock = 0
        self._markers = 0
        self.doc.observe(self._on_local_change)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, ws_url: str, token: str, *, wait_synced: bool = True, timeout_s: float = 10.0
    ) -> AsyncIterator[YClient]:
        async with connect(f"{ws_url}/{token}", max_size=None, open_timeout=timeout_s) as ws:
            client = cls(ws)
            reader = asyncio.create_task(client._read())
            try:
                await ws.send(pycrdt.create_sync_message(client.doc))
                if wait_synced:
                    await asyncio.wait_for(client.synced.wait(), timeout_s)
                yield client
            finally:
                reader.cancel()
                with suppress(asyncio.CancelledError):
                    await reader

    @property
    def client_id(self) -> int:
        return self.doc.client_id

    def insert(self, index: int, chunk: str) -> None:
        """Edit locally; the change is sent to the server."""
        self.text.insert(index, chunk)

    def append(self, chunk: str) -> None:
        self.text.insert(len(self.text), chunk)

    async def set_presence(self, state: dict[str, Any] | None) -> None:
        """Send an awareness update for this client."""
        self._awareness_clock += 1
        entry = awareness.Entry(
            self.client_id, self._awareness_clock, None if state is None else json.dumps(state)
        )
        payload = awareness.encode([entry])
        await self.ws.send(bytes([1]) + pycrdt.write_var_uint(len(payload)) + payload)

    async def subscribe_notices(self) -> None:
        """Ask for the server's notices (protocol message 101), as the app's page does."""
        await self.ws.send(protocol.encode_notice_subscribe())

    def notices(self) -> list[dict[str, Any]]:
        """The notices received so far, in order."""
        return [notice for notice, _text in self.noticed]

    def text_at_notice(self, kind: str) -> str:
        """The text as it stood when the first notice of ``kind`` arrived."""
        return next(text for notice, text in self.noticed if notice["kind"] == kind)

    async def wait_until(
        self, predicate: Callable[[YClient], bool], timeout_s: float = 5.0
    ) -> None:
        """Wait until ``predicate(self)`` holds after some received message."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout_s)

    async def wait_saved(self, timeout_s: float = 5.0) -> None:
        """Send a save marker and wait for its ack: everything sent before is committed."""
        self._markers += 1
        marker = self._markers
        ack = protocol.encode_save_ack(marker)
        await asyncio.sleep(0)  # let queued edits leave before the marker
        await self.ws.send(protocol.encode_save_marker(marker))
        await self.wait_until(lambda c: ack in c.received, timeout_s)

    async def wait_text(self, expected: str, timeout_s: float = 5.0) -> None:
        await self.wait_until(lambda c: str(c.text) == expected, timeout_s)

    async def wait_closed(self, timeout_s: float = 5.0) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout_s)
        return self.close_code

    def _on_local_change(self, event: pycrdt.TransactionEvent) -> None:
        if not self._remote:
            message = pycrdt.create_update_message(event.update)
            asyncio.get_running_loop().create_task(self._send_quietly(message))

    async def _send_quietly(self, message: bytes) -> None:
        with suppress(ConnectionClosed):
            await self.ws.send(message)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                assert isinstance(message, bytes), "the server sent a text frame"
                self.received.append(message)
                await self._handle(message)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.close_code, self.close_reason = self.ws.close_code, self.ws.close_reason or ""
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def _handle(self, message: bytes) -> None:
        if message[0] == 0:
            self._remote = True
            try:
                reply = pycrdt.handle_sync_message(message[1:], self.doc)
            finally:
                self._remote = False
            if reply is not None:
                await self.ws.send(reply)
            if message[1] == 1:
                self.synced.set()
        elif message[:2] == bytes((protocol.MessageType.NOTICE, protocol.NoticeType.NOTICE)):
            self.noticed.append((json.loads(pycrdt.read_message(message[2:])), str(self.text)))
        elif message[0] == 1:
            payload = pycrdt.read_message(message[1:])
            for entry in awareness.decode(payload, max_state_bytes=1 << 20):
                if entry.state is None:
                    self.states.pop(entry.client_id, None)
                else:
                    self.states[entry.client_id] = json.loads(entry.state)
