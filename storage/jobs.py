"""The writes the SQL store queues for its writer thread: one small record per kind.

Each is a :class:`storage.writer.Job` (a note, a future, what it resolves to);
:meth:`storage.updates.SqlDocumentStore._run_batch` says what each does in SQL,
with a ``match`` whose default raises: a job the store cannot run is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

from collab.persistence import Edit
from storage.indexing import IndexEntry
from storage.writer import Job


@dataclass(slots=True)
class Append(Job):
    """An edit for the end of the note's log; resolves to its position there."""

    kind = "append"
    edit: Edit


@dataclass(slots=True)
class Checkpoint(Job):
    """The document at ``position``, built from the log; resolves to None."""

    kind = "checkpoint"
    state: bytes
    position: int


@dataclass(slots=True)
class RoomCheckpoint(Job):
    """A room's document, the checkpoint only if the log ends at ``position`` then.

    Resolves to whether it was written: if not, the log holds more than the
    room's own edits (another process wrote to it), and a :class:`Checkpoint`
    is built from the log instead.
    """

    kind = "room-checkpoint"
    state: bytes
    position: int


@dataclass(slots=True)
class MarkVersion(Job):
    """A version (``named``, ``before-restore``) at the end of the log; resolves to its mark."""

    kind = "version"
    version_kind: str
    name: str | None


@dataclass(slots=True)
class WriteIndex(Job):
    """Search index entries (:mod:`storage.indexing`); resolves to None."""

    kind = "index"
    entries: list[IndexEntry]
