"""What a room needs from storage, and an in-memory store for tests and demos.

The contract that keeps edits safe: the future returned by :meth:`DocumentStore.append`
resolves only once the update is durably committed, with the update's position in
the note's log, and futures resolve in the order the appends were made. A room
broadcasts an update only after its future resolves, so every update a peer has
seen is already on disk.

A note's log is its history: positions count from 1 with no gaps, in commit
order, and logged updates are never removed by a checkpoint (only, much later,
by the retention of history, which keeps a checkpoint for what it removes).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from collab import document
from collab.document import EMPTY_UPDATE

ANONYMOUS = "Anonymous"
"""The author of an edit whose connection set no name in its presence."""


class StoredDocument(Protocol):
    """A note as loaded from storage.

    Attributes:
        updates: Yjs updates that together make the document: a checkpoint, then
            the logged updates after it, possibly merged into a few chunks.
        log_length: How many logged updates come after the checkpoint; a room
            asks for a new checkpoint once this grows large.
        head: The position of the last logged update (0 for none).
    """

    @property
    def updates(self) -> tuple[bytes, ...]: ...

    @property
    def log_length(self) -> int: ...

    @property
    def head(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """A :class:`StoredDocument` as :class:`MemoryStore` returns it."""

    updates: tuple[bytes, ...]
    log_length: int
    head: int = 0


@dataclass(frozen=True, slots=True)
class Edit:
    """One update on its way to a note's log, and what the history says of it."""

    update: bytes
    author: str = ANONYMOUS
    added: int = 0  # characters it inserted (UTF-16 units, as Yjs counts them)
    removed: int = 0  # characters it deleted


@dataclass(frozen=True, slots=True)
class VersionMark:
    """A version a store recorded: its id and the log position it stands for."""

    id: int
    position: int


class DocumentStore(Protocol):
    """Durable storage for the Yjs documents of notes."""

    async def load(self, note: int) -> StoredDocument:
        """Read a note: its latest checkpoint plus every update logged after it."""
        ...

    def append(self, note: int, edit: Edit) -> asyncio.Future[int]:
        """Queue an edit for the note's log; the future resolves, once it is committed,
        to its position."""
        ...

    def checkpoint(
        self, note: int, candidate: tuple[bytes, int] | None = None
    ) -> asyncio.Future[None]:
        """Write a checkpoint of the note at the end of its log.

        ``candidate`` is the document and the position its maker knows it stands
        for (a room that is the note's only writer: its document is the log up to
        its last append). It is the checkpoint if, when the checkpoint is written
        (after every append queued before), the log ends at that position;
        otherwise, and without one, the checkpoint is built from the log itself.
        The logged updates stay (they are the note's history). The store refuses
        to store an empty document as a checkpoint of a log that holds updates.
        """
        ...

    def mark_version(self, note: int, kind: str, name: str | None) -> asyncio.Future[VersionMark]:
        """Record a version (``named``, ``before-restore``) at the end of the note's log,
        after every append queued before it."""
        ...

    async def read_log(self, note: int, after: int) -> list[tuple[int, bytes]]:
        """The note's logged updates after position ``after``, up to its head, in order."""
        ...

    async def heads(self, notes: list[int]) -> dict[int, int]:
        """The position of each note's last logged update, in one read."""
        ...

    async def recent_log(self, note: int, within_s: float) -> list[tuple[str, bytes]]:
        """The note's updates committed in the last ``within_s`` seconds (by any process),
        each with its author, in log order."""
        ...


class EmptyCheckpointRefused(RuntimeError):
    """A checkpoint of a note with history came out as an empty document.

    Every store raises this one class (the SQL store imports it from here), so
    catching it catches the refusal whichever store made it.
    """


@dataclass
class _MemoryNote:
    log: list[Edit] = field(default_factory=list)
    committed_at: list[float] = field(default_factory=list)  # time.monotonic(), one per row
    checkpoints: dict[int, bytes] = field(default_factory=dict)
    versions: list[tuple[str, str | None, int]] = field(default_factory=list)


class MemoryStore:
    """A :class:`DocumentStore` in a dict, committing on the next loop turn.

    ``fail_appends`` makes every later append fail, to test what rooms do when
    the disk does; :meth:`hold` keeps commits pending until :meth:`release`, to
    test what happens while a write is on its way.
    """

    def __init__(self) -> None:
        self.notes: dict[int, _MemoryNote] = {}
        self.loads = 0
        self.room_checkpoints = 0  # checkpoints that were a room's document (for tests)
        self.fail_appends: Exception | None = None
        self._held: list[tuple[asyncio.Future[Any], object]] | None = None

    @property
    def logs(self) -> dict[int, list[bytes]]:
        """Each note's logged updates, in order (a view for tests)."""
        return {note: [edit.update for edit in kept.log] for note, kept in self.notes.items()}

    def seed(self, note: int, *updates: bytes) -> None:
        """Log ``updates`` for ``note`` as if they had been committed long ago (for tests)."""
        kept = self.notes.setdefault(note, _MemoryNote())
        kept.log.extend(Edit(update) for update in updates)
        kept.committed_at.extend(float("-inf") for _ in updates)

    def log_of(self, note: int) -> list[Edit]:
        return self.notes.get(note, _MemoryNote()).log

    def checkpoints_of(self, note: int) -> dict[int, bytes]:
        return self.notes.get(note, _MemoryNote()).checkpoints

    def hold(self) -> None:
        """Keep every later commit pending until :meth:`release`."""
        self._held = []

    def release(self) -> None:
        """Commit everything held, in order."""
        held, self._held = self._held or [], None
        for future, result in held:
            _succeed(future, result)

    async def load(self, note: int) -> StoredDocument:
        self.loads += 1
        await asyncio.sleep(0)  # let concurrent openers race, as a real store would
        kept = self.notes.get(note, _MemoryNote())
        head = len(kept.log)
        at = max((p for p in kept.checkpoints if p <= head), default=None)
        base = (kept.checkpoints[at],) if at is not None else ()
        after = kept.log[at or 0 :]
        return Stored((*base, *(edit.update for edit in after)), len(after), head)

    def append(self, note: int, edit: Edit) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if self.fail_appends is not None:
            future.get_loop().call_soon(_fail, future, self.fail_appends)
        else:
            kept = self.notes.setdefault(note, _MemoryNote())
            kept.log.append(edit)
            kept.committed_at.append(time.monotonic())
            self._commit_later(future, len(kept.log))
        return future

    def checkpoint(
        self, note: int, candidate: tuple[bytes, int] | None = None
    ) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        kept = self.notes.setdefault(note, _MemoryNote())
        head = len(kept.log)
        if candidate is not None and candidate[1] == head:
            self.room_checkpoints += 1
            state = candidate[0]
        else:
            at = max((p for p in kept.checkpoints if p <= head), default=None)
            updates = ([kept.checkpoints[at]] if at is not None else []) + [
                edit.update for edit in kept.log[at or 0 :]
            ]
            state = document.build(updates).get_update()
        if state == EMPTY_UPDATE and head:
            future.set_exception(EmptyCheckpointRefused(f"note {note}: empty checkpoint refused"))
            return future
        kept.checkpoints[head] = state
        self._commit_later(future, None)
        return future

    def mark_version(self, note: int, kind: str, name: str | None) -> asyncio.Future[VersionMark]:
        future: asyncio.Future[VersionMark] = asyncio.get_running_loop().create_future()
        kept = self.notes.setdefault(note, _MemoryNote())
        kept.versions.append((kind, name, len(kept.log)))
        self._commit_later(future, VersionMark(len(kept.versions), len(kept.log)))
        return future

    async def read_log(self, note: int, after: int) -> list[tuple[int, bytes]]:
        log = self.log_of(note)
        return [(position, edit.update) for position, edit in enumerate(log, 1) if position > after]

    async def heads(self, notes: list[int]) -> dict[int, int]:
        return {note: len(self.log_of(note)) for note in notes}

    async def recent_log(self, note: int, within_s: float) -> list[tuple[str, bytes]]:
        kept = self.notes.get(note, _MemoryNote())
        since = time.monotonic() - within_s
        return [
            (edit.author, edit.update)
            for edit, at in zip(kept.log, kept.committed_at, strict=True)
            if at >= since
        ]

    def _commit_later(self, future: asyncio.Future[Any], result: object) -> None:
        if self._held is not None:
            self._held.append((future, result))
        else:
            future.get_loop().call_soon(_succeed, future, result)


def _succeed(future: asyncio.Future[Any], result: object) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
