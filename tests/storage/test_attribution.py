"""Who wrote what, from the log: runs of each Yjs client's clocks with their author and day,
the same when built at once or a few rows at a time, and kept by later reads."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pycrdt
from sqlalchemy import Engine, event, text
from sqlmodel import Session
from support.sql import query

from collab.persistence import ANONYMOUS, Edit
from storage import notes
from storage.attribution import Run, attribution, level
from storage.levelling import behind, level_apart
from storage.locks import AUTHORS, try_note_lock
from storage.models import as_utc
from storage.updates import SqlDocumentStore


def new_note(engine: Engine) -> int:
    with Session(engine) as session:
        note = notes.create_note(session=session).id
    assert note is not None
    return note


def typist(client: int) -> tuple[pycrdt.Doc, pycrdt.Text]:
    doc: pycrdt.Doc = pycrdt.Doc(client_id=client)
    return doc, doc.get("content", type=pycrdt.Text)


def type_into(doc: pycrdt.Doc, text: pycrdt.Text, what: str, others: list[pycrdt.Doc]) -> bytes:
    """``what`` typed at the end, one update; the others receive it."""
    before = doc.get_state()
    text.insert(len(str(text)), what)
    update = doc.get_update(before)
    for other in others:
        other.apply_update(update)
    return update


def write(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def summary(runs: list[Run]) -> list[tuple[int, int, int, str | None]]:
    return sorted((run.client, run.start, run.end, run.author) for run in runs)


async def test_runs_say_who_typed_each_clock_and_grow_with_the_log(
    engine: Engine, database_url: str
) -> None:
    note = new_note(engine)
    store = SqlDocumentStore(engine)
    ana, ana_text = typist(1001)
    ben, ben_text = typist(2002)
    async with store:
        for letter in "Hello":  # five keystrokes of Ana's: one run
            await store.append(note, Edit(type_into(ana, ana_text, letter, [ben]), "Ana"))
        for letter in " there":  # Ben's, each arriving in Ana's doc too
            await store.append(note, Edit(type_into(ben, ben_text, letter, [ana]), "Ben"))
        first = attribution(engine, note)
        assert first.position == 11
        assert summary(first.runs) == [(1001, 0, 5, "Ana"), (2002, 0, 6, "Ben")]
        # Ana renames herself, then a page that never set a name types.
        await store.append(note, Edit(type_into(ana, ana_text, "!", [ben]), "Ana Lima"))
        await store.append(note, Edit(type_into(ben, ben_text, "?", [ana]), ANONYMOUS))
        # A row that repeats clocks already logged keeps their first author.
        await store.append(note, Edit(ana.get_update(), "Mallory"))
    second = attribution(engine, note)
    expected = [
        (1001, 0, 5, "Ana"),
        (1001, 5, 6, "Ana Lima"),
        (2002, 0, 6, "Ben"),
        (2002, 6, 7, ANONYMOUS),
    ]
    assert second.position == 14 and summary(second.runs) == expected
    # What was stored is what a build from scratch gives.
    assert query(database_url, "SELECT position FROM author_mark") == [(14,)]
    stored = query(database_url, 'SELECT client, start, "end", author FROM author_run')
    assert sorted(stored) == expected
    write(engine, "DELETE FROM author_run")
    write(engine, "DELETE FROM author_mark")
    assert summary(attribution(engine, note).runs) == expected
    # Brought level a few rows at a time (the keeper's steps), the runs are the same.
    write(engine, "DELETE FROM author_run")
    write(engine, "DELETE FROM author_mark")
    assert behind(engine, 14, 10) == [(note, 14, 0)] and behind(engine, 15, 10) == []
    assert [level(engine, note, 4) for _ in range(5)] == [4, 4, 4, 2, 0]
    assert behind(engine, 1, 10) == []
    write(engine, "DELETE FROM author_run")
    write(engine, "DELETE FROM author_mark")
    # The same from an engine of its own (a process of its own in the server; here a
    # thread, whose priority it leaves alone).
    assert await asyncio.to_thread(level_apart, database_url, [note], 4) == 14
    assert sorted(stored) == sorted(
        query(database_url, 'SELECT client, start, "end", author FROM author_run')
    )
    assert summary(attribution(engine, note).runs) == expected


async def test_a_new_day_and_a_nameless_row_start_runs_of_their_own(
    engine: Engine, database_url: str
) -> None:
    note = new_note(engine)
    store = SqlDocumentStore(engine)
    ana, ana_text = typist(77)
    async with store:
        for letter in "abcd":
            await store.append(note, Edit(type_into(ana, ana_text, letter, []), "Ana"))
    # Rows 1-2 were typed yesterday; row 4's author was never kept (history before names).
    typed = query(database_url, "SELECT committed_at FROM update_log WHERE position = 1")[0][0]
    earlier = as_utc(typed) - timedelta(days=1)
    write(engine, "UPDATE update_log SET committed_at = :at WHERE position <= 2", at=earlier)
    write(engine, "UPDATE update_log SET author = NULL WHERE position = 4")
    runs = sorted(attribution(engine, note).runs, key=lambda run: run.start)
    assert [(run.start, run.end, run.author) for run in runs] == [
        (0, 2, "Ana"),
        (2, 3, "Ana"),
        (3, 4, None),
    ]
    assert runs[0].first_at.date() < runs[1].first_at.date()
    assert [run.position for run in runs] == [1, 3, 4]


async def test_two_first_readers_at_once_both_answer_and_the_first_stored_stands(
    engine: Engine, database_url: str
) -> None:
    note = new_note(engine)
    ana, ana_text = typist(5)
    async with SqlDocumentStore(engine) as store:
        for letter in "abc":
            await store.append(note, Edit(type_into(ana, ana_text, letter, []), "Ana"))

    raced: list[int] = []

    def other_reader_first(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # Another process's first read stores its runs just before this one stores its own.
        if statement.startswith("INSERT INTO author_mark") and not raced:
            raced.append(0)  # once: the other reader's own insert is not raced
            raced[0] = attribution(engine, note).position

    event.listen(engine, "before_cursor_execute", other_reader_first)
    try:
        assert summary(attribution(engine, note).runs) == [(5, 0, 3, "Ana")]
    finally:
        event.remove(engine, "before_cursor_execute", other_reader_first)
    assert raced == [3]
    assert query(database_url, "SELECT position FROM author_mark") == [(3,)]
    assert query(database_url, 'SELECT client, start, "end" FROM author_run') == [(5, 0, 3)]


async def test_a_note_another_process_is_levelling_is_left_to_it(engine: Engine) -> None:
    note = new_note(engine)
    ana, ana_text = typist(9)
    async with SqlDocumentStore(engine) as store:
        for letter in "abc":
            await store.append(note, Edit(type_into(ana, ana_text, letter, []), "Ana"))
    with engine.connect() as other:  # another process's keeper, levelling this note
        assert try_note_lock(other, note, AUTHORS)
        # On PostgreSQL it is left to that one; a SQLite file has one process, no lock.
        assert level(engine, note, 10) == (None if engine.dialect.name == "postgresql" else 3)
        other.rollback()
    assert level(engine, note, 10) == (3 if engine.dialect.name == "postgresql" else 0)
    assert summary(attribution(engine, note).runs) == [(9, 0, 3, "Ana")]
