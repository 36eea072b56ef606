"""One note's room over a MemoryStore, for the room, pipeline and presence tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pycrdt

from collab.channel import MemoryChannel
from collab.config import RoomConfig
from collab.peer import Role
from collab.persistence import MemoryStore
from collab.room import Room
from support.waiting import until

NOTE = 1


def make_room(store: MemoryStore, **config: Any) -> Room:
    """A room of note :data:`NOTE` on an empty document, its ``RoomConfig`` made of ``config``."""
    return Room(NOTE, pycrdt.Doc(), store, RoomConfig(**config))


def serving(room: Room, role: Role = Role.EDITOR) -> Callable[[MemoryChannel], Any]:
    """What ``MemoryClient.join`` calls to have ``room`` serve its channel as ``role``."""
    return lambda channel: room.serve(channel, role)


def stored_text(store: MemoryStore) -> str:
    """The note's text as its whole logged history makes it."""
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    for update in store.logs.get(NOTE, []):
        doc.apply_update(update)
    return str(doc.get("content", type=pycrdt.Text))


async def store_has(store: MemoryStore, count: int) -> None:
    """Return once the note's log holds ``count`` updates (fails after 5 s, saying so)."""
    await until(lambda: len(store.logs.get(NOTE, [])) >= count, what=f"{count} updates stored")
