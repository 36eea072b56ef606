"""The SQL document store on a real SQLite file: group commit, compaction, isolation."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pycrdt
import pytest
from sqlmodel import Session

from collab import document
from collab.persistence import EmptySnapshotRefused
from storage import notes
from storage.db import (
    SCHEMA_VERSION,
    DatabaseInUse,
    Durability,
    create_schema,
    exclusive_sqlite,
    make_engine,
)
from storage.updates import SqlDocumentStore


def text_update(doc: pycrdt.Doc, chunk: str) -> bytes:
    before = doc.get_state()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(len(text), chunk)
    return doc.get_update(before)


def text_of(updates: tuple[bytes, ...]) -> str:
    return document.text(document.build(updates))


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqlDocumentStore]:
    engine = make_engine(f"sqlite:///{db_path}", Durability.FULL)
    create_schema(engine)
    async with SqlDocumentStore(engine) as store:
        yield store
    engine.dispose()


def new_note(store: SqlDocumentStore) -> int:
    with Session(store.engine) as session:
        note_id = notes.create_note(session=session).id
    assert note_id is not None
    return note_id


async def test_appends_are_committed_and_loaded_in_order(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    for chunk in ["a", "b", "c"]:
        await store.append(note, text_update(doc, chunk))
    loaded = await store.load(note)
    assert text_of(loaded.updates) == "abc"
    assert loaded.log_length == 3


async def test_a_burst_of_appends_shares_few_commits(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    before = store.commits
    await asyncio.gather(*(store.append(note, text_update(doc, str(i % 10))) for i in range(500)))
    assert store.commits - before < 50  # group commit: far fewer syncs than updates
    assert len(text_of((await store.load(note)).updates)) == 500


async def test_futures_resolve_in_append_order(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    order: list[int] = []
    futures = [store.append(note, text_update(doc, "x")) for _ in range(100)]
    for i, future in enumerate(futures):
        future.add_done_callback(lambda _, i=i: order.append(i))
    await asyncio.gather(*futures)
    assert order == list(range(100))


async def test_a_failing_write_fails_only_itself(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    good = store.append(note, text_update(doc, "kept"))
    bad = store.append(999_999, b"\x00\x00")  # no such note: the foreign key refuses it
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] is None
    assert isinstance(results[1], Exception)
    assert text_of((await store.load(note)).updates) == "kept"


async def test_compaction_keeps_the_text_and_empties_the_log(
    store: SqlDocumentStore, db_path: Path
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    for i in range(20):
        await store.append(note, text_update(doc, str(i % 10)))
    await store.compact(note, doc.get_update())
    await store.append(note, text_update(doc, "!"))  # logged after the snapshot
    loaded = await store.load(note)
    assert text_of(loaded.updates) == "01234567890123456789!"
    assert loaded.log_length == 1
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM update_log").fetchone()[0] == 1


async def test_sequence_numbers_never_go_back_after_the_log_is_emptied(
    store: SqlDocumentStore, db_path: Path
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    await store.append(note, text_update(doc, "a"))
    await store.compact(note, doc.get_update())
    await store.append(note, text_update(doc, "b"))
    with sqlite3.connect(db_path) as db:
        [(seq,)] = db.execute("SELECT seq FROM update_log").fetchall()
        [(upto,)] = db.execute("SELECT upto_seq FROM snapshot").fetchall()
    assert seq > upto
    assert text_of((await store.load(note)).updates) == "ab"


async def test_an_empty_snapshot_is_refused_over_stored_content(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    await store.append(note, text_update(doc, "precious"))
    with pytest.raises(EmptySnapshotRefused):
        await store.compact(note, b"\x00\x00")
    assert text_of((await store.load(note)).updates) == "precious"


async def test_closing_the_store_drains_queued_writes(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    create_schema(engine)
    async with SqlDocumentStore(engine) as store:
        note, doc = new_note(store), pycrdt.Doc()
        for i in range(50):
            store.append(note, text_update(doc, str(i % 10)))  # not awaited
    loaded = SqlDocumentStore(engine).load_sync(note)
    assert len(text_of(loaded.updates)) == 50


def test_a_new_database_gets_the_current_schema_version(db_path: Path) -> None:
    create_schema(make_engine(f"sqlite:///{db_path}"))
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this collab-notes"):
        create_schema(make_engine(f"sqlite:///{db_path}"))


def test_only_one_process_may_serve_a_database(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with (
        exclusive_sqlite(url),
        pytest.raises(DatabaseInUse, match="already serving"),
        exclusive_sqlite(url),
    ):
        pass
    with exclusive_sqlite(url):
        pass  # released once the holder is done


async def test_a_long_log_loads_in_merged_chunks(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    await asyncio.gather(*(store.append(note, text_update(doc, "ab"[i % 2])) for i in range(1050)))
    loaded = await store.load(note)
    assert loaded.log_length == 1050
    assert len(loaded.updates) == 11  # chunks of 100
    assert text_of(loaded.updates) == "ab" * 525


async def test_updated_at_is_set_at_most_once_a_second_and_at_compaction(
    store: SqlDocumentStore, db_path: Path
) -> None:
    note, doc = new_note(store), pycrdt.Doc()

    def updated_at() -> str:
        with sqlite3.connect(db_path) as db:
            row = db.execute("SELECT updated_at FROM note WHERE id = ?", (note,)).fetchone()
        return str(row[0])

    created = updated_at()
    await store.append(note, text_update(doc, "a"))
    first = updated_at()
    assert first > created
    await store.append(note, text_update(doc, "b"))  # within the second: not rewritten
    assert updated_at() == first
    await store.compact(note, doc.get_update())
    assert updated_at() > first
