"""Auto versions, one per session of editing: which one a commit's appends belong to.

A note's current session is open in its row (``note.session_*``): the commit's
head update grows its figures there, so an edit that continues the session costs
no statement of its own. Edits start a new auto version when editing paused for
the version gap, when someone new takes over after a pause of a tenth of it, or
when the session ran for ``MAX_SESSION_S``; the old version's row then gets its
final figures, in the same transaction. Runs on the writer thread only.

What the writer last saw of each note is kept, so that continuing needs no
read; another process's appends (a gap in the positions) or a different open
version make it read the session again, from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from collab.persistence import Edit
from storage.models import as_utc
from storage.sql import Statements

MAX_SESSION_S = 30 * 60
"""An auto version covers at most this much continuous editing."""
DEFAULT_VERSION_GAP_S = 300.0
_FORGET_AFTER = 10_000  # notes held; past that, all are forgotten (and read again if needed)


@dataclass(frozen=True, slots=True)
class Grown:
    """What a commit's head update answered for one note."""

    first: int  # the position of the commit's first append
    last: int  # ...and of its last: the note's head
    version: int | None  # the open auto version before these appends, if any
    added: int  # the open session's figures, these appends included
    removed: int


@dataclass(slots=True)
class _Session:
    version: int
    started_at: datetime
    last_at: datetime
    head: int  # the note's head after the session's last append seen here
    authors: set[str] = field(default_factory=set)


class Sessions:
    """Assigns each commit's appends to an auto version (see the module docstring)."""

    def __init__(self, sql: Statements, version_gap_s: float = DEFAULT_VERSION_GAP_S) -> None:
        self._sql = sql
        self._gap = timedelta(seconds=version_gap_s)
        self._known: dict[int, _Session] = {}

    def grow(self, cursor: Any, note: int, grown: Grown, edits: list[Edit], now: datetime) -> None:
        """The note's appends ``grown.first``..``grown.last``, committed at ``now``."""
        session = self._known.get(note)
        if session is None or session.head != grown.first - 1 or session.version != grown.version:
            session = self._read(cursor, note, grown)
        if session is None or self._starts_anew(session, edits, now):
            session = self._start(cursor, note, grown, edits, now, session)
        else:
            session.last_at, session.head = now, grown.last
        for author in {edit.author for edit in edits} - session.authors:
            self._sql.run(cursor, self._sql.add_author, version=session.version, name=author)
            session.authors.add(author)
        self._known[note] = session

    def trim(self) -> None:
        if len(self._known) > _FORGET_AFTER:  # notes no longer edited; read again if needed
            self._known.clear()

    def _starts_anew(self, session: _Session, edits: list[Edit], now: datetime) -> bool:
        paused = now - session.last_at
        return (
            paused >= self._gap
            or (now - session.started_at).total_seconds() >= MAX_SESSION_S
            # Someone new, once the others paused: Ben's edit after Ana's is its own version.
            or (paused >= self._gap / 10 and not {e.author for e in edits} <= session.authors)
        )

    def _start(
        self,
        cursor: Any,
        note: int,
        grown: Grown,
        edits: list[Edit],
        now: datetime,
        ended: _Session | None,
    ) -> _Session:
        sql = self._sql
        added = sum(edit.added for edit in edits)
        removed = sum(edit.removed for edit in edits)
        if ended is not None:  # its figures are the note's, less these appends'
            sql.run(
                cursor,
                sql.end_version,
                version=ended.version,
                position=grown.first - 1,
                last_at=ended.last_at,
                added=grown.added - added,
                removed=grown.removed - removed,
            )
        found = sql.run(
            cursor,
            sql.add_version,
            note=note,
            kind="auto",
            name=None,
            position=grown.last,
            first=grown.first,
            now=now,
            added=added,
            removed=removed,
        )
        version = found.fetchone()[0]
        sql.run(cursor, sql.open_session, note=note, version=version, added=added, removed=removed)
        return _Session(version, now, now, grown.last)

    def _read(self, cursor: Any, note: int, grown: Grown) -> _Session | None:
        """The open session as the database has it; None if there is none to go on with."""
        if grown.version is None:
            return None
        sql = self._sql
        found = sql.run(cursor, sql.version_start, version=grown.version).fetchone()
        if found is None or found[1]:  # gone, or sealed (a note's first content)
            return None
        previous = sql.run(cursor, sql.committed_at, note=note, position=grown.first - 1)
        row = previous.fetchone()
        started_at = as_utc(found[0])
        last_at = as_utc(row[0]) if row is not None else started_at
        authors = {name for (name,) in sql.run(cursor, sql.authors_of, version=grown.version)}
        return _Session(grown.version, started_at, last_at, grown.first - 1, authors)
