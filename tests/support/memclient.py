"""A pycrdt peer on an in-memory channel, for room and manager tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import pycrdt

from collab import awareness, protocol
from collab.channel import MemoryChannel, memory_channel_pair
from collab.errors import ChannelClosed


class MemoryClient:
    """The client end of a memory channel, keeping its own document in sync."""

    def __init__(self, channel: MemoryChannel) -> None:
        self.channel = channel
        self.doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.frames: list[bytes] = []
        self.answers: set[int] = set()  # indices of frames that answered a roundtrip()
        self.states: dict[int, dict[str, Any]] = {}
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._clock = 0

    @classmethod
    @asynccontextmanager
    async def join(
        cls, serve: Callable[[MemoryChannel], Any], label: str = "peer", *, sync: bool = True
    ) -> AsyncIterator[MemoryClient]:
        """Serve a fresh channel pair with ``serve`` and read the client end."""
        server_end, client_end = memory_channel_pair(label)
        client = cls(client_end)
        serving = asyncio.create_task(serve(server_end))
        reading = asyncio.create_task(client._read())
        try:
            if sync:
                await client.channel.send(protocol.encode_sync_step1(client.doc.get_state()))
                await asyncio.wait_for(client.synced.wait(), 5)
            yield client
        finally:
            await client_end.close(1000, "test done")
            await asyncio.wait_for(serving, 5)
            reading.cancel()
            with suppress(asyncio.CancelledError):
                await reading

    async def edit(self, index: int, chunk: str) -> None:
        """Insert locally and send the update, as a Yjs client does."""
        before = self.doc.get_state()
        self.text.insert(index, chunk)
        await self.channel.send(protocol.encode_sync_update(self.doc.get_update(before)))

    async def present(self, state: dict[str, Any] | None, client_id: int | None = None) -> None:
        self._clock += 1
        entry = awareness.Entry(
            client_id if client_id is not None else self.doc.client_id,
            self._clock,
            None if state is None else json.dumps(state),
        )
        await self.channel.send(protocol.encode_awareness(awareness.encode([entry])))

    async def roundtrip(self) -> int:
        """Ask the room a question and wait for its answer; return the answer's index.

        The room answers a query-awareness at once and a peer's frames leave in
        order, so once the answer is in, everything the room had queued for this
        client before has arrived: a negative check made after a roundtrip has
        given the server its chance, with no fixed sleep.
        """
        before = len(self.frames)
        await self.channel.send(protocol.encode_query_awareness())
        await self.wait_until(lambda c: "AwarenessUpdate" in c.kinds()[before:])
        answer = before + self.kinds()[before:].index("AwarenessUpdate")
        self.answers.add(answer)
        return answer

    async def wait_until(
        self, predicate: Callable[[MemoryClient], bool], timeout_s: float = 2
    ) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout_s)

    def kinds(self) -> list[str]:
        """The kind of every frame received, for assertions on order."""
        return [
            type(protocol.parse_message(f)).__name__
            if f[0] not in (protocol.MessageType.SAVE, protocol.MessageType.NOTICE)
            else "SaveAck"
            if f[0] == protocol.MessageType.SAVE
            else "Notice"
            for f in self.frames
        ]

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.channel.recv()
                self.frames.append(frame)
                self._handle(frame)
                async with self._changed:
                    self._changed.notify_all()
        except ChannelClosed:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    def _handle(self, frame: bytes) -> None:
        if frame[0] in (protocol.MessageType.SAVE, protocol.MessageType.NOTICE):
            return  # an ack or a notice; tests look for it in self.frames
        match protocol.parse_message(frame):
            case protocol.SyncStep2(update) | protocol.SyncUpdate(update):
                self.doc.apply_update(update)
                self.synced.set()
            case protocol.AwarenessUpdate(payload):
                for entry in awareness.decode(payload, max_state_bytes=1 << 20):
                    if entry.state is None:
                        self.states.pop(entry.client_id, None)
                    else:
                        self.states[entry.client_id] = json.loads(entry.state)
            case _:
                pass
