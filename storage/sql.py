"""Every statement the store runs, compiled once from the SQLModel tables.

They run on the engine's raw DBAPI connections: per statement, SQLAlchemy's
execution machinery (cache keys, parameter processing, result setup) took the
writer thread more time than SQLite did, time spent holding the GIL the event
loop needs; and reading a 100,000-update log took a third longer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, insert, literal_column, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from storage.models import Checkpoint, Note, UpdateLog, Version, VersionAuthor

LOG = SQLModel.metadata.tables[UpdateLog.__tablename__]
CHECKPOINT = SQLModel.metadata.tables[str(Checkpoint.__tablename__)]
NOTE = SQLModel.metadata.tables[str(Note.__tablename__)]
VERSION = SQLModel.metadata.tables[str(Version.__tablename__)]
VERSION_AUTHOR = SQLModel.metadata.tables[VersionAuthor.__tablename__]


@dataclass(frozen=True, slots=True)
class Statement:
    """A Core statement compiled once for one dialect, to run on a DBAPI cursor."""

    text: str
    order: tuple[str, ...] | None  # parameter names, for drivers with positional parameters
    processors: dict[str, Any]  # name -> the column type's bind processor (datetimes, bytes)

    @classmethod
    def compile(cls, statement: Any, dialect: Dialect) -> Statement:
        compiled = statement.compile(dialect=dialect)
        processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        order = tuple(compiled.positiontup) if compiled.positional else None
        return cls(str(compiled), order, processors)

    def bind(self, **values: Any) -> Any:
        """The parameters in the shape the driver takes: a tuple or a dict."""
        for name, processor in self.processors.items():
            values[name] = processor(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class Statements:
    """The store's statements for one dialect, and the driver's error classes."""

    def __init__(self, dialect: Dialect) -> None:
        # Over 40 lines: one declaration per statement, each compiled once, here.
        b: Any = _Binds(dialect)
        self.errors: type[Exception] = dialect.loaded_dbapi.Error
        self.database_errors: type[Exception] = dialect.loaded_dbapi.OperationalError
        compiled = partial(Statement.compile, dialect=dialect)
        # Appending: the note's head advances in the committing transaction, so positions
        # are dense and in commit order; the UPDATE also holds the note's row until commit.
        # It grows the open session's figures too, and says which version that is.
        self.advance_head = compiled(
            update(NOTE)
            .where(NOTE.c.id == b.note)
            .values(
                head=NOTE.c.head + b.count,
                updated_at=b.now,
                session_added=NOTE.c.session_added + b.added,
                session_removed=NOTE.c.session_removed + b.removed,
                session_last_at=b.now,
            )
            .returning(
                NOTE.c.head, NOTE.c.session_version, NOTE.c.session_added, NOTE.c.session_removed
            )
        )
        self.append = compiled(
            insert(LOG).values(
                note_id=b.note,
                position=b.position,
                data=b.data,
                committed_at=b.now,
                author=b.author,
                added=b.added,
                removed=b.removed,
            )
        )
        self.head_of = compiled(select(NOTE.c.head).where(NOTE.c.id == b.note))
        # Loading: the latest checkpoint at or before a position, and the log after it.
        self.checkpoint_at_or_before = compiled(
            select(CHECKPOINT.c.position, CHECKPOINT.c.data)
            .where(CHECKPOINT.c.note_id == b.note, CHECKPOINT.c.position <= b.position)
            .order_by(CHECKPOINT.c.position.desc())
            .limit(literal_column("1"))
            .offset(literal_column("0"))
        )
        self.log_between = compiled(
            select(LOG.c.data)
            .where(LOG.c.note_id == b.note, LOG.c.position > b.after, LOG.c.position <= b.upto)
            .order_by(LOG.c.position)
        )
        self.log_rows_after = compiled(
            select(LOG.c.position, LOG.c.data)
            .where(LOG.c.note_id == b.note, LOG.c.position > b.after, LOG.c.position <= b.upto)
            .order_by(LOG.c.position)
        )
        self.add_checkpoint = compiled(
            _insert_or_ignore(dialect, CHECKPOINT).values(
                note_id=b.note, position=b.position, data=b.data, created_at=b.now
            )
        )
        # Versions: a session of editing is an auto version, open in its note's row.
        self.version_start = compiled(
            select(VERSION.c.started_at, VERSION.c.sealed).where(VERSION.c.id == b.version)
        )
        self.committed_at = compiled(
            select(LOG.c.committed_at).where(LOG.c.note_id == b.note, LOG.c.position == b.position)
        )
        self.authors_of = compiled(
            select(VERSION_AUTHOR.c.name).where(VERSION_AUTHOR.c.version_id == b.version)
        )
        self.add_version = compiled(
            insert(VERSION)
            .values(
                note_id=b.note,
                kind=b.kind,
                name=b.name,
                position=b.position,
                first_position=b.first,
                started_at=b.now,
                created_at=b.now,
                added=b.added,
                removed=b.removed,
                sealed=literal_column("0") if dialect.name == "sqlite" else literal_column("false"),
            )
            .returning(VERSION.c.id)
        )
        self.end_version = compiled(
            update(VERSION)
            .where(VERSION.c.id == b.version)
            .values(position=b.position, created_at=b.last_at, added=b.added, removed=b.removed)
        )
        self.open_session = compiled(
            update(NOTE)
            .where(NOTE.c.id == b.note)
            .values(session_version=b.version, session_added=b.added, session_removed=b.removed)
        )
        self.add_author = compiled(
            _insert_or_ignore(dialect, VERSION_AUTHOR).values(version_id=b.version, name=b.name)
        )
        _process_moments_once(vars(self).values())

    @staticmethod
    def run(cursor: Any, statement: Statement, **values: Any) -> Any:
        cursor.execute(statement.text, statement.bind(**values))
        return cursor


def _process_moments_once(statements: Iterable[Any]) -> None:
    """Give every statement binding ``now`` one processor that remembers its last answer.

    A batch binds the same moment in every row and statement; turning it into
    the driver's value each time (SQLAlchemy's datetime processors) was a
    quarter of the writer thread's time in the throughput benchmark.
    """
    shared: _LastMoment | None = None
    for statement in statements:
        if isinstance(statement, Statement) and "now" in statement.processors:
            shared = shared or _LastMoment(statement.processors["now"])
            statement.processors["now"] = shared


class _LastMoment:
    """A bind processor with a memory of one: the last moment and its processed value."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self._process = process
        self._last: tuple[Any, Any] = (None, None)  # one tuple: replaced whole, thread-safe

    def __call__(self, moment: Any) -> Any:
        last = self._last
        if last[0] is not moment:
            last = self._last = (moment, self._process(moment))
        return last[1]


class _Binds:
    """Named bind parameters, typed where the driver needs to know (datetimes)."""

    def __init__(self, dialect: Dialect) -> None:
        moment = LOG.c.committed_at.type
        self._moments = {
            "now": bindparam("now", type_=moment),
            "last_at": bindparam("last_at", type_=moment),
        }

    def __getattr__(self, name: str) -> Any:
        moment = self._moments.get(name)
        return bindparam(name) if moment is None else moment


def _insert_or_ignore(dialect: Dialect, table: Any) -> Any:
    """An INSERT that does nothing when the row's key is already there."""
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB


@contextmanager
def by_index(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements run in the block plan with no sequential scan.

    For statements whose planner's choice measured wrong. The search's match
    (``storage.search``), through the GIN index only: reading a row's ``tsv``
    reads its 12 KB out of line (TOAST); the GIN index answers ``tsv @@ query``
    without reading it. The planner does not count that read: for a word in many
    notes it chose a sequential scan (or, without one, a walk of the primary key)
    filtering on ``tsv``, 200-450 ms at 3,000 notes on the loaded machine. The
    match, alone in a materialized CTE (``storage.search._MATCHED``) with
    sequential scans off, leaves it the index: 30-140 ms (bench/SEARCH.md).
    The 500 tokens a search sends (``storage.notes.find_by_tokens``): three
    sequential scans of the note table, 8 ms at 10,000 notes; 1,500 index probes
    of the token indexes, 4 ms.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    yield
    connection.execute(text("RESET enable_seqscan"))  # the rest of the transaction plans as usual
