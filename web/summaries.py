"""Keeping each note's title, first words and tags (what a space's list shows) up to date.

Off the keystroke path: nothing happens per edit. Every :data:`EVERY_S` a task
looks at the open rooms of this process, and summarises those whose log moved
since it last did (one ``str`` of the document on the loop, the parsing and one
transaction for all of them in a thread). A room that closed between two rounds
with edits the last round did not see is summarised from the store. A note's
summary is stored only over an earlier one (``storage.summaries.save``), so
processes serving one note never put an older one back.

A rename shows in a list within :data:`EVERY_S` plus the list's own polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, select

from collab import document
from collab.manager import RoomManager
from collab.room import Room
from storage import summaries
from storage.sql import NOTE
from storage.updates import SqlDocumentStore

logger = logging.getLogger("web.summaries")

EVERY_S = 0.5
"""How often open rooms are looked at: a rename is in the lists this much later at most."""


def position_of(room: Room) -> int:
    """The last log position the room's document is known to hold."""
    return room.log.known if room.remote.clustered else room.pipeline.head


class SummaryKeeper:
    """Summarises the notes this process serves, a round every :data:`EVERY_S`."""

    def __init__(self, engine: Engine, rooms: RoomManager, store: SqlDocumentStore) -> None:
        self._engine = engine
        self._rooms = rooms
        self._store = store
        self._done: dict[int, int] = {}  # note -> the position it was last summarised at
        self.rounds = 0

    async def run(self) -> None:
        """Summarise what changed, every :data:`EVERY_S`, until cancelled."""
        while True:
            await asyncio.sleep(EVERY_S)
            try:
                await self.round()
            except Exception:  # a failed round is logged and the next one tries again
                logger.exception("summarising notes for the space lists failed")

    async def round(self) -> None:
        """Summarise the open notes whose log moved, and closed ones that missed a round."""
        rooms = self._rooms.rooms
        due: list[tuple[int, int, str]] = []
        for note, room in rooms.items():
            head = position_of(room)
            if self._done.get(note) != head and not room.broken:
                due.append((note, head, str(room.text)))
        gone = [note for note in self._done if note not in rooms]
        if due:
            await asyncio.to_thread(_save, self._engine, due)
            self._done.update((note, head) for note, head, _ in due)
        if gone:
            await self._closed(gone)
        self.rounds += 1

    async def _closed(self, notes: list[int]) -> None:
        heads = await asyncio.to_thread(_heads, self._engine, notes)
        for note in notes:
            if heads.get(note, -1) > self._done.pop(note):
                await self.now(note)

    async def now(self, note: int) -> None:
        """Summarise one note now: from its open room, else from the store."""
        room = self._rooms.rooms.get(note)
        if room is not None:
            head, text = position_of(room), str(room.text)
        else:
            stored = await self._store.load(note)
            built = await asyncio.to_thread(document.build, stored.updates)
            head, text = stored.head, document.text(built)
        await asyncio.to_thread(_save, self._engine, [(note, head, text)])


def _save(engine: Engine, due: list[tuple[int, int, str]]) -> None:
    made = [(note, head, summaries.summarise(text)) for note, head, text in due]
    with engine.begin() as connection:
        for note, head, summary in made:
            summaries.save(connection, note, head, summary)


def _heads(engine: Engine, notes: list[int]) -> dict[int, int]:
    with engine.connect() as connection:
        query = select(NOTE.c.id, NOTE.c.head).where(NOTE.c.id.in_(notes))
        return {row[0]: row[1] for row in connection.execute(query)}


@asynccontextmanager
async def keeping(keeper: SummaryKeeper) -> AsyncIterator[SummaryKeeper]:
    """Run ``keeper`` for as long as the context is open."""
    task = asyncio.get_running_loop().create_task(keeper.run(), name="summarise notes")
    try:
        yield keeper
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
