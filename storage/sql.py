"""Every statement the store runs, compiled once from the SQLModel tables.

They run on the engine's raw DBAPI connections: per statement, SQLAlchemy's
execution machinery (cache keys, parameter processing, result setup) took the
writer thread more time than SQLite did, time spent holding the GIL the event
loop needs; and reading a 100,000-update log took a third longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, bindparam, delete, func, insert, select, update
from sqlmodel import SQLModel

from storage.models import Note, Snapshot, UpdateLog

LOG = SQLModel.metadata.tables[UpdateLog.__tablename__]
SNAPSHOT = SQLModel.metadata.tables[str(Snapshot.__tablename__)]
NOTE = SQLModel.metadata.tables[str(Note.__tablename__)]


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
    """The store's statements for one dialect, and the driver's error class."""

    def __init__(self, dialect: Dialect) -> None:
        note: Any = bindparam("note")
        upto: Any = bindparam("upto")
        data: Any = bindparam("data")
        now: Any = bindparam("now", type_=SNAPSHOT.c.created_at.type)
        self.errors: type[Exception] = dialect.loaded_dbapi.Error
        self.append = Statement.compile(insert(LOG).values(note_id=note, data=data), dialect)
        self.touch = Statement.compile(
            update(NOTE).where(NOTE.c.id == note).values(updated_at=now), dialect
        )
        self.last_seq = Statement.compile(
            select(func.max(LOG.c.seq)).where(LOG.c.note_id == note), dialect
        )
        after: Any = bindparam("after")
        self.snapshot_of = Statement.compile(
            select(SNAPSHOT.c.upto_seq, SNAPSHOT.c.data).where(SNAPSHOT.c.note_id == note), dialect
        )
        self.log_after = Statement.compile(
            select(LOG.c.data).where(LOG.c.note_id == note, LOG.c.seq > after).order_by(LOG.c.seq),
            dialect,
        )
        self.drop_snapshot = Statement.compile(
            delete(SNAPSHOT).where(SNAPSHOT.c.note_id == note), dialect
        )
        self.snapshot = Statement.compile(
            insert(SNAPSHOT).values(note_id=note, upto_seq=upto, data=data, created_at=now), dialect
        )
        self.drop_log = Statement.compile(
            delete(LOG).where(LOG.c.note_id == note, LOG.c.seq <= upto), dialect
        )

    @staticmethod
    def run(cursor: Any, statement: Statement, **values: Any) -> Any:
        cursor.execute(statement.text, statement.bind(**values))
        return cursor
