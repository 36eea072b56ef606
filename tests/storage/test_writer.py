"""The writer thread never dies silently: failures fail their jobs, or stop it loudly."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from sqlalchemy import event
from sqlmodel import Session
from support.services import Postgres, postgres_server
from support.sql import query
from support.waiting import until

from collab import document
from collab.persistence import Edit
from storage import notes
from storage.db import Durability, create_schema, make_engine
from storage.jobs import Append
from storage.updates import SqlDocumentStore
from storage.writer import CHECK_IDLE_AFTER_S, WriterStopped

BOOM = b"boom"


class FaultyStore(SqlDocumentStore):
    """Raises an unexpected error (a bug, as far as the writer knows) on a marked job."""

    def _append_all(self, cursor: Any, appends: dict[int, list[Append]], now: Any) -> None:
        if any(job.edit.update == BOOM for jobs in appends.values() for job in jobs):
            raise RuntimeError("an unexpected bug in the batch")
        super()._append_all(cursor, appends, now)


def text_update(doc: pycrdt.Doc, chunk: str) -> Edit:
    before = doc.get_state()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(len(text), chunk)
    return Edit(doc.get_update(before), "Ana", len(chunk))


def new_note(store: SqlDocumentStore) -> int:
    with Session(store.engine) as session:
        note_id = notes.create_note(session=session).id
    assert note_id is not None
    return note_id


async def test_an_unexpected_error_fails_its_jobs_and_the_writer_goes_on(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{db_path}", Durability.FULL)
    create_schema(engine)
    doc = pycrdt.Doc()
    async with FaultyStore(engine) as store:
        note = new_note(store)
        await store.append(note, text_update(doc, "before "))
        with pytest.raises(RuntimeError, match="unexpected bug"):
            await asyncio.wait_for(store.append(note, Edit(BOOM)), 5)
        await asyncio.wait_for(store.append(note, text_update(doc, "after")), 5)
        assert store.failure is None
        loaded = await store.load(note)
    assert document.text(document.build(loaded.updates)) == "before after"
    logged = [r for r in caplog.records if r.name == "storage.writer" and r.exc_info]
    assert logged, "the error is logged with its traceback"
    engine.dispose()


@pytest.mark.slow
async def test_a_writer_that_cannot_reconnect_stops_loudly_and_fails_every_job(
    db_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{db_path}", Durability.FULL)
    create_schema(engine)
    refuse = False

    @event.listens_for(engine, "do_connect")
    def connect(*_args: Any) -> None:
        if refuse:
            raise OSError("the database went away")

    stopped: list[str] = []
    doc = pycrdt.Doc()
    async with FaultyStore(engine, on_fatal=stopped.append) as store:
        note = new_note(store)
        await store.append(note, text_update(doc, "kept"))
        refuse = True  # the fresh connection after the next failure cannot be made
        engine.dispose()  # and none is waiting in the pool
        with pytest.raises(RuntimeError, match="unexpected bug"):
            await asyncio.wait_for(store.append(note, Edit(BOOM)), 5)
        await until(lambda: stopped, what="the writer stopped", timeout_s=10, every_s=0.05)
        assert "went away" in stopped[0]
        assert store.failure == stopped[0]
        with pytest.raises(WriterStopped):
            await asyncio.wait_for(store.append(note, text_update(doc, "lost")), 5)
    # Leaving the store returned: shutdown does not hang on a stopped writer.
    refuse = False
    assert document.text(document.build(SqlDocumentStore(engine).load_sync(note).updates)) == (
        "kept"
    )
    engine.dispose()


async def test_an_expected_database_error_fails_only_its_own_job(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{db_path}", Durability.FULL)
    create_schema(engine)
    doc = pycrdt.Doc()
    caplog.set_level(logging.ERROR, "storage.writer")
    async with SqlDocumentStore(engine) as store:
        note = new_note(store)
        store.writer.paused.clear()  # queue both, so they share a batch
        missing = store.append(10_000, text_update(pycrdt.Doc(), "no such note"))
        good = store.append(note, text_update(doc, "fine"))
        store.writer.paused.set()
        with pytest.raises(sqlite3.Error, match="does not exist"):
            await asyncio.wait_for(missing, 5)
        await asyncio.wait_for(good, 5)
    engine.dispose()


class DiskFullStore(SqlDocumentStore):
    """Fails commits as a full disk does, while ``full`` is set."""

    full = False

    def _append_all(self, cursor: Any, appends: dict[int, list[Append]], now: Any) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        super()._append_all(cursor, appends, now)


async def test_the_writer_reports_saving_fails_until_a_commit_succeeds_again(
    db_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{db_path}", Durability.FULL)
    create_schema(engine)
    doc = pycrdt.Doc()
    async with DiskFullStore(engine) as store:
        note = new_note(store)
        assert store.writer.trouble() is None
        store.full = True
        with pytest.raises(sqlite3.OperationalError):
            await asyncio.wait_for(store.append(note, text_update(doc, "a")), 5)
        assert "disk is full" in (store.writer.trouble() or "")
        store.full = False
        await asyncio.wait_for(store.append(note, text_update(pycrdt.Doc(), "b")), 5)
        assert store.writer.trouble() is None
    engine.dispose()


async def test_a_job_specific_error_is_not_reported_as_a_failing_database(
    db_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{db_path}", Durability.FULL)
    create_schema(engine)
    async with SqlDocumentStore(engine) as store:
        with pytest.raises(sqlite3.Error, match="does not exist"):  # that job alone
            await asyncio.wait_for(store.append(10_000, text_update(pycrdt.Doc(), "x")), 5)
        assert store.writer.trouble() is None
    engine.dispose()


@pytest.mark.slow
async def test_a_writer_on_a_database_server_waits_out_its_outage() -> None:
    """A database file that cannot be opened again stops the writer (a restart may cure
    it); a database server that went away is waited for: the writes meanwhile fail at
    once, and the writer connects again when it answers."""
    with postgres_server() as database:
        engine = make_engine(database.create_database())
        create_schema(engine)
        doc = pycrdt.Doc()
        async with FaultyStore(engine) as store:
            note = new_note(store)
            assert await store.append(note, text_update(doc, "before ")) == 1
            engine.pool.dispose()  # no idle pooled connection: reconnecting must connect
            database.stop("immediate")
            # A bug makes the writer start afresh, and no connection can be had.
            with pytest.raises(RuntimeError, match="unexpected bug"):
                await asyncio.wait_for(store.append(note, Edit(BOOM)), 10)
            with pytest.raises(Exception, match="connection"):
                await asyncio.wait_for(store.append(note, text_update(doc, "away")), 10)
            assert store.writer.failure is None
            assert store.writer.trouble() is not None  # /healthz says 503 meanwhile
            database.resume()
            assert await asyncio.wait_for(store.append(note, text_update(doc, "back")), 10) == 2
            assert store.writer.trouble() is None
    engine.dispose()


async def test_a_connection_the_server_closed_while_idle_costs_no_write(
    postgres: Postgres,
) -> None:
    """A restart, a failover or ``idle_session_timeout`` ends the writer's session
    while nobody types: the next edit is saved all the same (not failed with 1011)."""
    url = postgres.create_database()
    engine = make_engine(url)
    create_schema(engine)
    doc = pycrdt.Doc()
    async with SqlDocumentStore(engine) as store:
        note = new_note(store)
        assert await store.append(note, text_update(doc, "before ")) == 1
        [(ended,)] = query(
            url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert ended >= 1  # the writer's own session among them
        await asyncio.sleep(CHECK_IDLE_AFTER_S + 0.2)  # idle, as between two bursts of typing
        assert await asyncio.wait_for(store.append(note, text_update(doc, "after")), 10) == 2
        assert store.writer.trouble() is None
    assert document.text(document.build(store.load_sync(note).updates)) == "before after"
    engine.dispose()
