"""What a room needs from storage, and an in-memory store for tests and demos.

The contract that keeps edits safe: the future returned by :meth:`DocumentStore.append`
resolves only once the update is durably committed, and futures resolve in the
order the appends were made. A room broadcasts an update only after its future
resolves, so every update a peer has seen is already on disk.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from collab.document import EMPTY_UPDATE


class StoredDocument(Protocol):
    """A note as loaded from storage.

    Attributes:
        updates: Yjs updates that together make the document: the snapshot, then
            the logged updates after it, possibly merged into a few chunks.
        log_length: How many logged updates come after the last snapshot; a room
            compacts once this grows large.
    """

    @property
    def updates(self) -> tuple[bytes, ...]: ...

    @property
    def log_length(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """A :class:`StoredDocument` as :class:`MemoryStore` returns it."""

    updates: tuple[bytes, ...]
    log_length: int


class DocumentStore(Protocol):
    """Durable storage for the Yjs documents of notes."""

    async def load(self, note: int) -> StoredDocument:
        """Read a note: its latest snapshot plus every update logged after it."""
        ...

    def append(self, note: int, update: bytes) -> asyncio.Future[None]:
        """Queue an update for the note's log; the future resolves once it is committed."""
        ...

    def compact(self, note: int, snapshot: bytes) -> asyncio.Future[None]:
        """Replace the note's log, up to everything appended so far, by ``snapshot``.

        ``snapshot`` must contain every update appended for the note before this
        call. The store refuses to replace stored content with an empty document.
        """
        ...


class EmptySnapshotRefused(RuntimeError):
    """A compaction tried to store an empty document over a stored one.

    Every store raises this one class (the SQL store imports it from here), so
    catching it catches the refusal whichever store made it.
    """


class MemoryStore:
    """A :class:`DocumentStore` in a dict, committing on the next loop turn.

    ``fail_appends`` makes every later append fail, to test what rooms do when
    the disk does; :meth:`hold` keeps commits pending until :meth:`release`, to
    test what happens while a write is on its way.
    """

    def __init__(self) -> None:
        self.logs: dict[int, list[bytes]] = {}
        self.snapshots: dict[int, bytes] = {}
        self.loads = 0
        self.fail_appends: Exception | None = None
        self._held: list[asyncio.Future[None]] | None = None

    def hold(self) -> None:
        """Keep every later commit pending until :meth:`release`."""
        self._held = []

    def release(self) -> None:
        """Commit everything held, in order."""
        held, self._held = self._held or [], None
        for future in held:
            _succeed(future)

    async def load(self, note: int) -> StoredDocument:
        self.loads += 1
        await asyncio.sleep(0)  # let concurrent openers race, as a real store would
        log = self.logs.get(note, [])
        snapshot = (self.snapshots[note],) if note in self.snapshots else ()
        return Stored((*snapshot, *log), len(log))

    def append(self, note: int, update: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail_appends is not None:
            future.get_loop().call_soon(_fail, future, self.fail_appends)
        else:
            self.logs.setdefault(note, []).append(update)
            self._commit_later(future)
        return future

    def _commit_later(self, future: asyncio.Future[None]) -> None:
        if self._held is not None:
            self._held.append(future)
        else:
            future.get_loop().call_soon(_succeed, future)

    def compact(self, note: int, snapshot: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if snapshot == EMPTY_UPDATE and (self.logs.get(note) or note in self.snapshots):
            future.set_exception(EmptySnapshotRefused(f"note {note}: empty snapshot refused"))
            return future
        self.snapshots[note] = snapshot
        self.logs[note] = []
        self._commit_later(future)
        return future


def _succeed(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
