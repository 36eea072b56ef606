"""How long a note keeps a file: while its text, or a version inside the history window,
names it; then the purge collects it, and ``collab-notes check`` reports it until then.

The window is ``--history-days``: the versions made inside it are kept as they
are, so restoring one of them brings its images back. A file is *named* by a text
that holds its id (``attachment:<id>``, or the file's address: its 64 hex digits
anywhere, in either case). The texts looked at are the note's current text, each version made inside
the window, and the text the note had when the window began (the state just before
its first update inside it), so a reference that left the text moments ago is
always found, even in a note nobody had touched for longer than the window.

Building those texts costs a replay of the window's log, so it is done only for the
files that may be due. Each ``note_file`` row has ``seen_at``: when the note was last
seen naming it (an upload counts, see ``storage.files``). Only files not seen since
the window began are judged: :func:`judge` reads the current text, and the window's
texts only for the files it does not name, off the event loop (a 100,000-character
note: 1.4-1.7 ms for its text, 0.2-0.7 s for 1,000 versions). :func:`settle` records when each
found file was last named, so that it is not judged again before that leaves the
window, and deletes the rest, unless the note's head moved since the texts were read
(a new edit might name one: the next round sees it) or the file was seen meanwhile
(an upload of it). ``seen_at`` only decides what is judged: whether a file goes is
decided by the texts alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, select, text, update

from collab.document import build
from collab.document import text as text_of
from storage.files import NOTE_FILE, named
from storage.models import as_utc
from storage.sql import LOG, VERSION, Statement
from storage.updates import SqlDocumentStore

logger = logging.getLogger("storage.file_retention")

NOTES_PER_ROUND = 200
"""Notes judged in one purge round at most (those unseen longest first): the first
round after an upgrade, when every older file is due, is spread over several."""


@dataclass(frozen=True, slots=True)
class Judged:
    """What the texts of one note say of its due files."""

    note: int
    head: int  # the position the current text was read at
    seen: dict[str, datetime]  # a file some text names -> the newest such text's time
    unnamed: frozenset[str]  # the files no text inside the window names


_CUTOFF = bindparam("cutoff", type_=LOG.c.committed_at.type)


def due(engine: Engine, cutoff: datetime, notes: int | None = None) -> dict[int, set[str]]:
    """The files not seen since ``cutoff``, by note: of ``notes`` notes at most (None: all),
    those unseen longest first."""
    statement = (
        select(NOTE_FILE.c.note_id, NOTE_FILE.c.file_id)
        .where(NOTE_FILE.c.seen_at < _CUTOFF)
        .order_by(NOTE_FILE.c.seen_at, NOTE_FILE.c.note_id)
    )
    found: dict[int, set[str]] = {}
    for note, file in _rows(engine, statement, cutoff=as_utc(cutoff)):
        if int(note) in found or notes is None or len(found) < notes:
            found.setdefault(int(note), set()).add(file)
    return found


def judge(
    store: SqlDocumentStore, note: int, files: set[str], cutoff: datetime, now: datetime
) -> Judged:
    """Which of the note's ``files`` its current text or a text inside the window names.

    Raises whatever reading or building a text raises: the caller then leaves the
    note's files as they are.
    """
    loaded = store.load_sync(note)
    seen = dict.fromkeys(named(text_of(build(loaded.updates)), files), now)
    left = files - seen.keys()
    if left:
        texts = sorted(_texts_inside(store.engine, note, cutoff, loaded.head))
        for file, moment in _named_inside(store, note, left, texts).items():
            seen[file] = moment
            left.discard(file)
    return Judged(note, loaded.head, seen, frozenset(left))


def _named_inside(
    store: SqlDocumentStore, note: int, files: set[str], texts: list[tuple[int, datetime]]
) -> dict[str, datetime]:
    """Which of ``files`` the texts at these positions (ascending) name, and the latest
    moment each was named.

    One replay: the document at the first position, then the log after it, applied an
    update at a time (where thinning left no rows, from the position's checkpoint).
    Building each version from its checkpoint took 22 s for a 100,000-character note
    with 1,000 versions (each a whole document decoded); this, 0.2-0.7 s.
    """
    if not texts:
        return {}
    first = texts[0][0]
    doc = build(store.load_sync(note, upto=first).updates)
    updates = dict(store.read_log_sync(note, after=first))
    found: dict[str, datetime] = {}
    position = first
    for target, moment in texts:
        if all(at in updates for at in range(position + 1, target + 1)):
            for at in range(position + 1, target + 1):
                doc.apply_update(updates[at])
        else:  # thinned history: a kept version has a checkpoint of its own
            doc = build(store.load_sync(note, upto=target).updates)
        position = target
        for file in named(text_of(doc), files):
            found[file] = max(moment, found.get(file, moment))
    return found


def _texts_inside(
    engine: Engine, note: int, cutoff: datetime, head: int
) -> Iterator[tuple[int, datetime]]:
    """The positions whose texts count (besides the head's), with when each was the
    note's: its versions made since ``cutoff``, and the window's start."""
    versions = select(VERSION.c.position, VERSION.c.created_at).where(
        VERSION.c.note_id == bindparam("note"), VERSION.c.created_at >= _CUTOFF
    )
    inside = select(func.min(LOG.c.position)).where(
        LOG.c.note_id == bindparam("note"), LOG.c.committed_at >= _CUTOFF
    )
    first = select(LOG.c.position, LOG.c.committed_at).where(
        LOG.c.note_id == bindparam("note"), LOG.c.position == inside.scalar_subquery()
    )
    values = {"note": note, "cutoff": as_utc(cutoff)}
    # The window's start: the text just before its first update, the note's until then.
    start = [(position - 1, moment) for position, moment in _rows(engine, first, **values)]
    done = {0, head}
    for position, moment in [*_rows(engine, versions, **values), *start]:
        if position not in done and position <= head:
            done.add(position)
            yield position, as_utc(moment)


def settle(engine: Engine, judged: Judged, cutoff: datetime) -> int:
    """Record when each found file was last named; delete the note's unnamed files unless
    its head moved or the file was seen since ``cutoff``. Returns how many went."""
    with engine.connect() as connection:
        for file, moment in judged.seen.items():
            connection.execute(
                update(NOTE_FILE)
                .where(_row(judged.note, file), NOTE_FILE.c.seen_at < as_utc(moment))
                .values(seen_at=as_utc(moment))
            )
        gone = 0
        if judged.unnamed:
            gone = connection.execute(
                delete(NOTE_FILE).where(
                    NOTE_FILE.c.note_id == judged.note,
                    NOTE_FILE.c.file_id.in_(sorted(judged.unnamed)),
                    NOTE_FILE.c.seen_at < as_utc(cutoff),
                )
            ).rowcount
            if _head_locked(connection, judged.note) != judged.head:
                connection.rollback()  # an edit came meanwhile: the next round judges anew
                return 0
        connection.commit()
    return int(gone or 0)


def _head_locked(connection: Connection, note: int) -> int | None:
    """The note's head, read after a write in this transaction, and held until it ends.

    On SQLite the write before took the database's write lock; on PostgreSQL the row
    lock waits for a commit that is moving the head, and holds off the next one.
    """
    lock = " FOR NO KEY UPDATE" if connection.dialect.name == "postgresql" else ""
    statement = text(f"SELECT head FROM note WHERE id = :note{lock}")
    found = connection.execute(statement, {"note": note}).scalar()
    return None if found is None else int(found)


def _row(note: int, file: str) -> Any:
    return and_(NOTE_FILE.c.note_id == note, NOTE_FILE.c.file_id == file)


def _rows(engine: Engine, statement: Any, **values: Any) -> list[Any]:
    """The statement's rows, read on a raw connection of the engine.

    Not through a SQLAlchemy ``Connection``: closing one rolls back, and ``check``
    reads through an engine whose one connection holds its read transaction open.
    """
    compiled = Statement.compile(statement, engine.dialect)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        rows = list(cursor.execute(compiled.text, compiled.bind(**values)).fetchall())
        cursor.close()
    finally:
        connection.close()
    return rows


def collect(store: SqlDocumentStore, cutoff: datetime, now: datetime) -> int:
    """One round: judge the files due (of :data:`NOTES_PER_ROUND` notes) and settle each
    note; returns how many of the notes' files went (their blobs are collected after)."""
    gone = 0
    for note, files in due(store.engine, cutoff, NOTES_PER_ROUND).items():
        try:
            judged = judge(store, note, files, cutoff, now)
        except BaseException as error:  # yrs panics surface as pyo3's PanicException
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            logger.exception("cannot tell which files note=%s names; all kept", note)
            continue
        gone += settle(store.engine, judged, cutoff)
    return gone
