"""Who wrote what: a note's Yjs items, by client and clock, with their author and day.

Every Yjs item is named by its client id and clock, and every log row says who
sent it (``update_log.author``, the name in the sender's presence). So the
author of any character of the text is the author of the log row that first
brought its (client, clock). This module keeps that mapping as *runs*
(``author_run``): clocks ``start``..``end`` of one client, from log rows of one
author and one UTC day that follow each other; a person's typing session is one
run a day, whatever its number of keystrokes.

The runs are a cache of the log, extended when they are read: :func:`attribution`
reads the rows after ``author_mark.position`` (the new ones since the last read,
from any process), folds them in, and stores what it added under the condition
that nobody moved the mark meanwhile. Nothing of it is on the keystroke path.
Rows thinned out of the log before their runs were made are not attributed:
their text is shown as "earlier", never as someone else's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, Row, and_, select, update
from sqlmodel import SQLModel

from collab.document import written_clocks
from storage.models import AuthorMark, AuthorRun, Restore, as_utc
from storage.sql import LOG, VERSION

RUN = SQLModel.metadata.tables[AuthorRun.__tablename__]
MARK = SQLModel.metadata.tables[AuthorMark.__tablename__]
RESTORE = SQLModel.metadata.tables[str(Restore.__tablename__)]
PAGE = 5_000  # log rows read at a time


@dataclass(frozen=True, slots=True)
class Run:
    """Clocks ``start``..``end`` (end excluded) of ``client``, typed by ``author``."""

    client: int
    start: int
    end: int
    author: str | None
    first_at: datetime
    last_at: datetime
    position: int  # the log row of its first clocks


@dataclass(frozen=True, slots=True)
class RestoredText:
    """A restore's own log row, and the version whose text it brought back."""

    position: int
    author: str
    kind: str
    name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Attribution:
    """A note's runs up to log position ``position``, and its restores."""

    position: int
    runs: list[Run]
    restores: list[RestoredText]


class _Builder:
    """Runs being extended by log rows, in log order."""

    def __init__(self, runs: list[Run]) -> None:
        self.runs = runs
        self.last: dict[int, int] = {}  # client -> index of its last run in self.runs
        self.end: dict[int, int] = {}  # client -> the clock after its last attributed one
        for index, run in enumerate(runs):
            if run.end > self.end.get(run.client, -1):
                self.last[run.client], self.end[run.client] = index, run.end
        self.changed: set[int] = set()  # indexes of runs added or grown

    def add(self, position: int, at: datetime, author: str | None, data: bytes) -> None:
        """Fold in one log row: each of its clients' new clocks."""
        for client, start, end in written_clocks(data):
            start = max(start, self.end.get(client, 0))  # clocks a row repeats keep their author
            if end > start:
                self._extend(client, start, end, author, at, position)

    def _extend(
        self, client: int, start: int, end: int, author: str | None, at: datetime, position: int
    ) -> None:
        index = self.last.get(client)
        previous = None if index is None else self.runs[index]
        if (
            index is not None
            and previous is not None
            and previous.end == start
            and previous.author == author
            and previous.first_at.date() == at.date()
        ):
            self.runs[index] = replace(previous, end=end, last_at=at)
        else:
            index = len(self.runs)
            self.runs.append(Run(client, start, end, author, at, at, position))
            self.last[client] = index
        self.end[client] = end
        self.changed.add(index)


def attribution(engine: Engine, note: int) -> Attribution:
    """The note's runs up to its log's end (every process's rows), stored for next time."""
    with engine.connect() as connection:
        mark = connection.execute(select(MARK.c.position).where(MARK.c.note_id == note)).scalar()
        runs = [_run(row) for row in connection.execute(select(RUN).where(RUN.c.note_id == note))]
        restores = _restores(connection, note)
        builder = _Builder(runs)
        position = _read_log(connection, note, mark or 0, builder)
        if position != (mark or 0):
            _store(connection, note, mark, position, builder)
    return Attribution(position, builder.runs, restores)


def _read_log(connection: Connection, note: int, after: int, builder: _Builder) -> int:
    """Fold the log rows after ``after`` into ``builder``; the last position read."""
    while True:
        rows = connection.execute(
            select(LOG.c.position, LOG.c.committed_at, LOG.c.author, LOG.c.data)
            .where(LOG.c.note_id == note, LOG.c.position > after)
            .order_by(LOG.c.position)
            .limit(PAGE)
        ).all()
        for position, at, author, data in rows:
            builder.add(position, as_utc(at), author, bytes(data))
            after = position
        if len(rows) < PAGE:
            return after


def _store(
    connection: Connection, note: int, mark: int | None, position: int, builder: _Builder
) -> None:
    """Write the runs ``builder`` changed, if the mark is still where it was read."""
    connection.rollback()  # the reads' transaction: the writes take one of their own
    if mark is None:
        connection.execute(MARK.insert().values(note_id=note, position=position))
    else:
        moved = connection.execute(
            update(MARK)
            .where(and_(MARK.c.note_id == note, MARK.c.position == mark))
            .values(position=position)
        )
        if moved.rowcount != 1:  # another reader stored these rows first: theirs stand
            connection.rollback()
            return
    changed = [builder.runs[index] for index in sorted(builder.changed)]
    for run in changed:
        connection.execute(
            RUN.delete().where(
                RUN.c.note_id == note, RUN.c.client == run.client, RUN.c.start == run.start
            )
        )
    if changed:
        connection.execute(RUN.insert(), [_row(note, run) for run in changed])
    connection.commit()


def _restores(connection: Connection, note: int) -> list[RestoredText]:
    rows = connection.execute(
        select(
            RESTORE.c.position,
            RESTORE.c.author,
            RESTORE.c.restored_kind,
            RESTORE.c.restored_name,
            RESTORE.c.restored_at,
        )
        .join(VERSION, VERSION.c.id == RESTORE.c.version_id)
        .where(VERSION.c.note_id == note)
    ).all()
    return [
        RestoredText(position, author, kind, name, as_utc(at))
        for position, author, kind, name, at in rows
    ]


def _run(row: Row[tuple[object, ...]]) -> Run:
    mapping = row._mapping
    return Run(
        client=int(mapping["client"]),
        start=mapping["start"],
        end=mapping["end"],
        author=mapping["author"],
        first_at=as_utc(mapping["first_at"]),
        last_at=as_utc(mapping["last_at"]),
        position=mapping["position"],
    )


def _row(note: int, run: Run) -> dict[str, object]:
    return {
        "note_id": note,
        "client": run.client,
        "start": run.start,
        "end": run.end,
        "author": run.author,
        "first_at": run.first_at,
        "last_at": run.last_at,
        "position": run.position,
    }
