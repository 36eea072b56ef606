"""Keeping each note's title, first words and tags (what a space's list shows) up to date.

Off the keystroke path: nothing happens per edit. Every :data:`EVERY_S` a task
looks at the open rooms of this process, and summarises those whose log moved
since it last did and that are in a space (one query says which; one ``str`` of
the document on the loop, the parsing and one transaction for all of them in a
thread). Notes in no space are listed nowhere and never summarised: moving one
into a space summarises it then (:meth:`SummaryKeeper.now`). A room that closed (the manager tells
:meth:`SummaryKeeper.closed`) with edits no round saw is summarised from the store. A note's
summary is stored only over an earlier one (``storage.summaries.save``), so
processes serving one note never put an older one back.

A rename shows in a list within :data:`EVERY_S` plus the list's own polling.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, select

from collab import document
from collab.manager import RoomManager
from collab.room import Room
from storage import summaries
from storage.sql import NOTE
from storage.updates import SqlDocumentStore
from web.background import running
from web.logs import Failures

logger = logging.getLogger("web.summary_keeper")

EVERY_S = 0.5
"""How often open rooms are looked at: a rename is in the lists this much later at most
(for notes under 500,000 characters, see :func:`spacing_s`)."""
SECONDS_PER_CHAR = 2e-8
"""What summarising costs per character of a note (measured: 20 ms for a million)."""


def position_of(room: Room) -> int:
    """The last log position the room's document is known to hold."""
    return room.remote.known()


class SummaryKeeper:
    """Summarises the notes this process serves, a round every :data:`EVERY_S`."""

    def __init__(self, engine: Engine, rooms: RoomManager, store: SqlDocumentStore) -> None:
        self._engine = engine
        self._rooms = rooms
        self._store = store
        self._done: dict[int, int] = {}  # note -> the position it was last looked at
        self._next_at: dict[int, float] = {}  # note -> when it may be summarised again
        self._closed: set[int] = set()  # notes whose room closed since the last round
        self._failures = Failures(logger, engine, "summaries")
        self.rounds = 0

    async def run(self) -> None:
        """Summarise what changed, every :data:`EVERY_S`, until cancelled."""
        while True:
            await asyncio.sleep(EVERY_S)
            try:
                await self.round()
            except Exception as error:  # a failed round is logged and the next one tries again
                self._failures.failed("summarising notes for the space lists", error)

    async def round(self) -> None:
        """Summarise the open notes of spaces whose log moved, and closed ones that missed
        a round. A big note waits longer between summaries (:func:`spacing_s`)."""
        rooms = self._rooms.rooms
        now = time.monotonic()
        moved = {
            note: room
            for note, room in rooms.items()
            if self._done.get(note) != position_of(room)
            and not room.broken
            and self._next_at.get(note, 0.0) <= now
        }
        if moved:
            listed = await asyncio.to_thread(_in_spaces, self._engine, list(moved))
            due = []
            for note, room in moved.items():
                head = position_of(room)
                self._done[note] = head
                if note in listed:
                    text = str(room.text)
                    self._next_at[note] = now + spacing_s(len(text))
                    due.append((note, head, text))
            if due:
                await asyncio.to_thread(_save, self._engine, due)
        closed, self._closed = self._closed - set(rooms), set()
        if closed:
            for note in await asyncio.to_thread(_behind, self._engine, sorted(closed)):
                await self.now(note)
        self.rounds += 1

    def closed(self, note: int) -> None:
        """The note's room closed (``RoomManager.on_closed``): its last edits may have come
        after the last round, or the room may have opened and closed between two."""
        self._done.pop(note, None)
        self._next_at.pop(note, None)
        self._closed.add(note)

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


def spacing_s(chars: int) -> float:
    """How long to wait before summarising a note of ``chars`` characters again.

    Summarising takes about 0.2 ms per 10,000 characters and 20 ms per million,
    holding the GIL the event loop needs; a pause of 50 times that keeps a note
    typed in without a break at about 2 % of a core.
    """
    return max(EVERY_S, chars * SECONDS_PER_CHAR * 50)


def _in_spaces(engine: Engine, notes: list[int]) -> set[int]:
    """Those of ``notes`` that are in a space (only those are listed anywhere)."""
    with engine.connect() as connection:
        query = select(NOTE.c.id).where(NOTE.c.id.in_(notes), NOTE.c.space_id.is_not(None))
        return set(connection.execute(query).scalars())


def _save(engine: Engine, due: list[tuple[int, int, str]]) -> None:
    made = [(note, head, summaries.summarise(text)) for note, head, text in due]
    counts: summaries.TagCounts = Counter()
    with engine.begin() as connection:
        for note, head, summary in made:
            summaries.save(connection, note, head, summary, counts)
        summaries.count_tags(connection, counts)  # once, in order: see count_tags


def _behind(engine: Engine, notes: list[int]) -> list[int]:
    """Those of ``notes`` in a space whose summary is older than their log."""
    query = select(NOTE.c.id).where(
        NOTE.c.id.in_(notes), NOTE.c.space_id.is_not(None), NOTE.c.summary_head < NOTE.c.head
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


@asynccontextmanager
async def keeping(keeper: SummaryKeeper) -> AsyncIterator[SummaryKeeper]:
    """Run ``keeper`` for as long as the context is open."""
    async with running(keeper.run, "summarise notes"):
        yield keeper
