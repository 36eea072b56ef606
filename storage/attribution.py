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
The server's keeper (``web/authors_keeper.py``) moves the mark on by itself, a
few thousand rows at a time (:func:`level`), for every note whose log is far
ahead of its runs (``storage/levelling.py``): a read then folds in the tail only.
Rows thinned out of the log before their runs were made are not attributed:
their text is shown as "earlier", never as someone else's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, Engine, Row, and_, func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType
from sqlmodel import SQLModel

from collab.document import HEAD_BYTES, first_block, written_clocks
from storage.locks import AUTHORS, try_note_lock
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


Moment = datetime | str  # a log time as the driver gives it: SQLite's is text


def _day(moment: Moment) -> str:
    """The UTC day of a stored time, cheaply: runs are cut at each new day."""
    return moment[:10] if isinstance(moment, str) else moment.date().isoformat()


@dataclass(slots=True)
class _Open:
    """A client's last run while only its rows' first clocks are known."""

    start: int
    author: str | None
    day: str
    first_at: Moment
    last_at: Moment
    position: int
    replaces: int | None = None  # the index of the stored run it goes on from


class _Builder:
    """Runs being extended by log rows, in log order.

    A client's clocks are cut by where its rows start: a row runs from its first
    clock to the next row's of that client. Rows of one client block (keystrokes,
    nearly every row) are read by their first bytes only, the end of a client's last
    run from its last row in full (:meth:`close`), and rows of several blocks in full.
    Times stay as the driver gave them until a run is made (parsing 100,000 SQLite
    times cost more than the rest of the work).
    """

    def __init__(self, runs: list[Run]) -> None:
        self.runs = runs
        self.stored = len(runs)  # runs[:stored] came from the database
        self.last: dict[int, int] = {}  # client -> index of its last closed run
        self.start: dict[int, int] = {}  # client -> the first clock of its last row
        self.open: dict[int, _Open] = {}
        self.row: dict[int, int] = {}  # client -> its last row's position, while open
        for index, run in enumerate(runs):
            if run.end > self.end_of(run.client):
                self.last[run.client], self.start[run.client] = index, run.start
        self.changed: set[int] = set()  # indexes of runs added or grown

    def end_of(self, client: int) -> int:
        index = self.last.get(client)
        return -1 if index is None else self.runs[index].end

    def add_start(
        self, position: int, at: Moment, author: str | None, client: int, start: int
    ) -> None:
        """Fold in a row of one client block, known by its first clock only."""
        if client in self.start and start <= self.start[client]:
            return  # it sends again what an earlier row brought: theirs stays
        self.start[client], day = start, _day(at)
        current = self.open.get(client)
        if current is not None:
            if current.author == author and current.day == day:
                current.last_at, self.row[client] = at, position
                return
            self._close(client, start)
        self.row[client] = position
        index = self.last.get(client)
        if index is not None:
            run = self.runs[index]
            if run.end == start and run.author == author and _day(run.first_at) == day:
                self.open[client] = _Open(run.start, author, day, run.first_at, at, run.position)
                self.open[client].replaces = index
                return
            start = max(start, run.end)
        self.open[client] = _Open(start, author, day, at, at, position)

    def add_full(self, position: int, at: Moment, author: str | None, data: bytes) -> None:
        """Fold in a row read in full: each of its clients' new clocks."""
        for client, start, end in written_clocks(data):
            if client in self.open:
                if start <= self.start[client]:
                    continue
                self._close(client, start)
            self.start[client] = start
            start = max(start, self.end_of(client))  # clocks a row repeats keep their author
            if end > start:
                self._extend(client, start, end, author, at, position)

    def close(self, ends: dict[int, int]) -> None:
        """Give each open run its end: ``ends`` maps a client to the clock after its last row."""
        for client in list(self.open):
            self._close(client, ends.get(client, 0))

    def result(self) -> list[Run]:
        return [run for run in self.runs if run.end > run.start]

    def _close(self, client: int, end: int) -> None:
        done = self.open.pop(client)
        self.row.pop(client, None)
        run = Run(
            client,
            done.start,
            max(end, done.start),
            done.author,
            as_utc(done.first_at),
            as_utc(done.last_at),
            done.position,
        )
        self._put(client, run, done.replaces)

    def _extend(
        self, client: int, start: int, end: int, author: str | None, at: Moment, position: int
    ) -> None:
        index = self.last.get(client, -1)
        previous = None if index < 0 else self.runs[index]
        if (
            previous is not None
            and previous.end == start
            and previous.author == author
            and _day(previous.first_at) == _day(at)
        ):
            self._put(client, replace(previous, end=end, last_at=as_utc(at)), index)
        else:
            self._put(client, Run(client, start, end, author, as_utc(at), as_utc(at), position))

    def _put(self, client: int, run: Run, index: int | None = None) -> None:
        if index is None:
            index = len(self.runs)
            self.runs.append(run)
        else:
            self.runs[index] = run
        self.last[client] = index
        self.changed.add(index)


def attribution(engine: Engine, note: int) -> Attribution:
    """The note's runs up to its log's end (every process's rows), stored for next time."""
    return _attribute(engine, note, None)[0]


def level(engine: Engine, note: int, rows: int) -> int | None:
    """Fold up to ``rows`` of the note's log rows after its mark into its stored runs.

    The number of rows read (fewer than ``rows``: the runs are level with the log);
    None when another process holds the note's lock for this (PostgreSQL), and is
    doing it. What is stored is what :func:`attribution` would store: the mark's
    condition keeps two writers from both storing the same rows.
    """
    with engine.connect() as guard:  # the lock lasts as long as this transaction
        if not try_note_lock(guard, note, AUTHORS):
            return None
        read = _attribute(engine, note, rows)[1]
        guard.rollback()
    return read


def _attribute(engine: Engine, note: int, rows: int | None) -> tuple[Attribution, int]:
    """:func:`attribution` from at most ``rows`` more log rows (None: all); and how many."""
    with engine.connect() as connection:
        mark = connection.execute(select(MARK.c.position).where(MARK.c.note_id == note)).scalar()
        runs = [_run(row) for row in connection.execute(select(RUN).where(RUN.c.note_id == note))]
        restores = _restores(connection, note)
        builder = _Builder(runs)
        position, read = _read_log(connection, note, mark or 0, builder, rows)
        builder.close(_ends(connection, note, builder.row))
        if position != (mark or 0):
            _store(connection, note, mark, position, builder)
    return Attribution(position, builder.result(), restores), read


def _read_log(
    connection: Connection, note: int, after: int, builder: _Builder, rows: int | None
) -> tuple[int, int]:
    """Fold up to ``rows`` log rows after ``after`` into ``builder`` (None: all of them);
    the last position read, and how many rows were."""
    head = func.substr(LOG.c.data, 1, HEAD_BYTES)
    at, author = (type_coerce(column, NullType()) for column in (LOG.c.committed_at, LOG.c.author))
    read = 0
    while True:
        page = PAGE if rows is None else min(PAGE, rows - read)
        found = connection.execute(
            select(LOG.c.position, at, author, head)
            .where(LOG.c.note_id == note, LOG.c.position > after)
            .order_by(LOG.c.position)
            .limit(page)
        ).all()
        read += len(found)
        for position, moment, name, first_bytes in found:
            after, first_bytes = position, bytes(first_bytes)
            block = first_block(first_bytes)
            if block is not None:
                builder.add_start(position, moment, name, *block)
            elif first_bytes[:1] != b"\x00":  # not a deletion alone: read it all
                builder.add_full(position, moment, name, _data(connection, note, position))
        if len(found) < page or (rows is not None and read >= rows):
            return after, read


def _data(connection: Connection, note: int, position: int) -> bytes:
    query = select(LOG.c.data).where(LOG.c.note_id == note, LOG.c.position == position)
    return bytes(connection.execute(query).scalar_one())


def _ends(connection: Connection, note: int, rows: dict[int, int]) -> dict[int, int]:
    """Each client's clock after its last row (``rows``: client -> that row's position)."""
    ends: dict[int, int] = {}
    wanted = sorted(set(rows.values()))
    for first in range(0, len(wanted), 500):
        found = connection.execute(
            select(LOG.c.position, LOG.c.data).where(
                LOG.c.note_id == note, LOG.c.position.in_(wanted[first : first + 500])
            )
        ).all()
        for position, data in found:
            for client, _start, end in written_clocks(bytes(data)):
                if rows.get(client) == position:
                    ends[client] = end
    return ends


def _store(
    connection: Connection, note: int, mark: int | None, position: int, builder: _Builder
) -> None:
    """Write the runs ``builder`` changed, if the mark is still where it was read."""
    connection.rollback()  # the reads' transaction: the writes take one of their own
    if not _move_mark(connection, note, mark, position):  # another reader stored first
        connection.rollback()  # theirs stand
        return
    grown = [builder.runs[index] for index in sorted(builder.changed) if index < builder.stored]
    for run in grown:  # a stored run that went on: written again
        connection.execute(
            RUN.delete().where(
                RUN.c.note_id == note, RUN.c.client == run.client, RUN.c.start == run.start
            )
        )
    changed = [builder.runs[index] for index in sorted(builder.changed)]
    changed = [run for run in changed if run.end > run.start]
    if changed:
        connection.execute(RUN.insert(), [_row(note, run) for run in changed])
    connection.commit()


def _move_mark(connection: Connection, note: int, mark: int | None, position: int) -> bool:
    """Move the note's mark from ``mark`` to ``position``; False if it is no longer at ``mark``."""
    if mark is None:
        try:
            connection.execute(MARK.insert().values(note_id=note, position=position))
        except IntegrityError:  # a first reader elsewhere inserted it since this one looked
            return False
        return True
    moved = connection.execute(
        update(MARK)
        .where(and_(MARK.c.note_id == note, MARK.c.position == mark))
        .values(position=position)
    )
    return moved.rowcount == 1


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
