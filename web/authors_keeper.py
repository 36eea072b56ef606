"""Keeping who-wrote-what level with the log: a note's runs are brought up to date when its
room closes, off the keystroke path.

``GET .../authors`` folds the log rows after the stored runs' mark into them
(``storage/attribution.py``): 10-20 us a row, so 1-2 s for 100,000 rows nobody
had asked about. Done when a room closes (once per editing session, in a thread),
the rows left for the route are those typed since the note was last opened
here, and turning Authors on stays within its budget on a note of long history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine

from storage.attribution import attribution
from web.background import running
from web.saving import first_line, is_database_error

logger = logging.getLogger("web.authors_keeper")


class AuthorsKeeper:
    """Folds each closed room's new log rows into its note's runs, one note at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._due: set[int] = set()
        self._wake = asyncio.Event()
        self.done = 0  # notes brought up to date (for tests)

    def closed(self, note: int) -> None:
        """The note's room closed (``RoomManager.on_closed``)."""
        self._due.add(note)
        self._wake.set()

    async def run(self) -> None:
        """Bring each note told of up to date, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._due:
                note = self._due.pop()
                try:
                    await asyncio.to_thread(attribution, self._engine, note)
                except Exception as error:  # logged; the route catches up by itself when asked
                    if not is_database_error(error, self._engine):
                        logger.exception("bringing the authors of note %s up to date failed", note)
                    else:  # an outage: one line, as everywhere else (no traceback)
                        logger.warning(
                            "the authors of note %s were not brought up to date:"
                            " the database does not answer (%s)",
                            note,
                            first_line(error),
                        )
                self.done += 1


@asynccontextmanager
async def keeping_authors(engine: Engine) -> AsyncIterator[AuthorsKeeper]:
    """Run an :class:`AuthorsKeeper` for as long as the context is open."""
    keeper = AuthorsKeeper(engine)
    async with running(keeper.run, "keep authors"):
        yield keeper
