"""The SQL document store (on SQLite and PostgreSQL): group commit, checkpoints, versions."""

from __future__ import annotations

import asyncio
import itertools
import resource
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pycrdt
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session
from support.sql import query

from collab import document, protocol
from collab.persistence import Edit, EmptyCheckpointRefused
from storage import auto_versions, notes
from storage.db import DatabaseInUse, exclusive_sqlite
from storage.jobs import Checkpoint
from storage.logreads import RECENT_PAGE
from storage.models import UpdateLog, utcnow
from storage.updates import SqlDocumentStore
from storage.writer import Job


def text_update(doc: pycrdt.Doc, chunk: str, author: str = "Ana") -> Edit:
    before = doc.get_state()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(len(text), chunk)
    return Edit(doc.get_update(before), author, added=len(chunk))


def text_of(updates: tuple[bytes, ...]) -> str:
    return document.text(document.build(updates))


@pytest.fixture
async def store(engine: Engine) -> AsyncIterator[SqlDocumentStore]:
    async with SqlDocumentStore(engine) as store:
        yield store


def new_note(store: SqlDocumentStore) -> int:
    with Session(store.engine) as session:
        note_id = notes.create_note(session=session).id
    assert note_id is not None
    return note_id


async def test_appends_are_committed_in_order_at_dense_positions(
    store: SqlDocumentStore,
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    positions = [await store.append(note, text_update(doc, chunk)) for chunk in "abc"]
    assert positions == [1, 2, 3]
    loaded = await store.load(note)
    assert (text_of(loaded.updates), loaded.head, loaded.log_length) == ("abc", 3, 3)


async def test_a_burst_of_appends_shares_few_commits(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    before = store.commits
    edits = [text_update(doc, "x") for _ in range(500)]
    positions = await asyncio.gather(*(store.append(note, edit) for edit in edits))
    assert positions == list(range(1, 501))
    assert store.commits - before < 50  # group commit: far fewer syncs than updates


async def test_futures_resolve_in_append_order(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    order: list[int] = []
    futures = [store.append(note, text_update(doc, str(i))) for i in range(20)]
    for i, future in enumerate(futures):
        future.add_done_callback(lambda _, i=i: order.append(i))
    await asyncio.gather(*futures)
    assert order == list(range(20))


async def test_a_failing_write_fails_only_itself(store: SqlDocumentStore) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    good = store.append(note, text_update(doc, "kept"))
    bad = store.append(999_999, Edit(b"\x00\x00"))  # no such note
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] == 1
    assert isinstance(results[1], Exception)
    assert text_of((await store.load(note)).updates) == "kept"


async def test_a_checkpoint_keeps_the_text_and_the_whole_log(
    store: SqlDocumentStore, database_url: str
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    for i in range(20):
        await store.append(note, text_update(doc, str(i % 10)))
    await store.checkpoint(note)
    await store.append(note, text_update(doc, "!"))  # logged after the checkpoint
    loaded = await store.load(note)
    assert text_of(loaded.updates) == "01234567890123456789!"
    assert (loaded.checkpoint, loaded.log_length, loaded.head) == (20, 1, 21)
    assert query(database_url, "SELECT count(*) FROM update_log") == [(21,)]  # history
    assert query(database_url, "SELECT position FROM checkpoint") == [(20,)]


async def test_a_rooms_document_is_the_checkpoint_when_the_log_ends_where_its_edits_do(
    store: SqlDocumentStore, database_url: str
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    appends = [store.append(note, text_update(doc, c)) for c in "abc"]
    # Queued right after the appends it holds, as a room does: they commit first.
    await store.checkpoint(note, (doc.get_update(), 3))
    assert [await a for a in appends] == [1, 2, 3]
    [(position, data)] = query(database_url, "SELECT position, data FROM checkpoint")
    assert (position, bytes(data)) == (3, doc.get_update())


async def test_a_rooms_document_that_misses_what_another_writer_logged_is_not_the_checkpoint(
    store: SqlDocumentStore, database_url: str
) -> None:
    note, ours, theirs = new_note(store), pycrdt.Doc(), pycrdt.Doc()
    await store.append(note, text_update(ours, "ours "))
    await store.append(note, text_update(theirs, "theirs"))  # another process's edit
    await store.checkpoint(note, (ours.get_update(), 1))  # what a room thinking it alone has
    [(position, data)] = query(database_url, "SELECT position, data FROM checkpoint")
    assert position == 2  # built from the log instead: both edits are in it
    text = text_of((bytes(data),))
    assert "ours" in text and "theirs" in text


def prepended(client: int, count: int) -> bytes:
    """An update of ``count`` one-character items, each inserted before the one before it.

    None can be merged with its neighbour, so the document holds ``count`` items
    (200,000 cost this machine about 100 ms to apply, 10 ms to encode).
    """
    v = protocol.write_varuint
    structs = [bytes([4, 1]) + v(7) + b"content" + v(1) + b"a"]
    structs += [bytes([0x44]) + v(client) + v(clock - 1) + v(1) + b"b" for clock in range(1, count)]
    return v(1) + v(count) + v(client) + v(0) + b"".join(structs) + v(0)


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_a_large_notes_checkpoint_is_built_in_a_process_of_its_own(
    store: SqlDocumentStore, database_url: str
) -> None:
    note, doc, large = new_note(store), pycrdt.Doc(), prepended(7, 200_000)
    await store.append(note, Edit(large))
    doc.apply_update(large)
    await store.append(note, text_update(doc, "!"))
    started = time.process_time()
    document.build([large]).get_update()
    building_cpu = time.process_time() - started  # what it costs in this process
    started, children = time.process_time(), children_cpu()
    await store.checkpoint(note)
    checkpoint_cpu, apart_cpu = time.process_time() - started, children_cpu() - children
    [(position, data)] = query(database_url, "SELECT position, data FROM checkpoint")
    assert position == 2 and document.text(document.build([bytes(data)])) == str(doc["content"])
    print(
        f"\n  building here: {building_cpu * 1000:.0f} ms of CPU; checkpointing: the store's "
        f"process {checkpoint_cpu * 1000:.0f} ms, its children {apart_cpu * 1000:.0f} ms"
    )
    assert apart_cpu > building_cpu / 2  # built in a child process
    assert checkpoint_cpu < building_cpu / 2  # and not here as well


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_a_checkpoint_asked_for_while_the_notes_is_being_built_is_left_to_it(
    store: SqlDocumentStore, database_url: str
) -> None:
    note = new_note(store)
    await store.append(note, Edit(prepended(7, 200_000)))  # a build of about 0.3 s
    building = store.checkpoint(note)
    await store.checkpoint(note)  # asked for again meanwhile: answered without a build
    assert not building.done()  # the first is still building (the CPU each took, compared,
    await building  # was this machine's load as much as the build: failed once in CI)
    assert query(database_url, "SELECT note_id, position FROM checkpoint") == [(note, 1)]


def children_cpu() -> float:
    """CPU seconds spent by this process's children that have ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def test_a_checkpoint_with_nothing_new_is_not_written_again(
    store: SqlDocumentStore, database_url: str
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    await store.append(note, text_update(doc, "a"))
    await store.checkpoint(note)
    await store.checkpoint(note)
    assert query(database_url, "SELECT count(*) FROM checkpoint") == [(1,)]


async def test_an_empty_checkpoint_is_refused_for_a_note_with_history(
    store: SqlDocumentStore,
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    await store.append(note, text_update(doc, "precious"))
    empty = Checkpoint(note=note, future=store.writer.new_future(), state=b"\x00\x00", position=1)
    with pytest.raises(EmptyCheckpointRefused):
        await store.writer.submit(empty)
    assert text_of((await store.load(note)).updates) == "precious"


async def test_a_job_of_a_kind_the_store_cannot_run_fails_and_the_writer_goes_on(
    store: SqlDocumentStore,
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    with pytest.raises(RuntimeError, match="no way to run a Job"):
        await store.writer.submit(Job(note=note, future=store.writer.new_future()))
    assert await store.append(note, text_update(doc, "after")) == 1


async def test_closing_the_store_drains_queued_writes(engine: Engine) -> None:
    async with SqlDocumentStore(engine) as store:
        note, doc = new_note(store), pycrdt.Doc()
        for i in range(50):
            store.append(note, text_update(doc, str(i % 10)))  # not awaited
    loaded = SqlDocumentStore(engine).load_sync(note)
    assert len(text_of(loaded.updates)) == 50


def test_only_one_process_may_serve_a_sqlite_database(db_path: Path) -> None:
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
    assert len(loaded.updates) == 11  # runs of 100 (collab.document.merged_runs)
    assert text_of(loaded.updates) == "ab" * 525


async def test_every_logged_update_records_when_who_and_how_much(
    store: SqlDocumentStore, database_url: str
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    await store.append(note, text_update(doc, "hello", author="Ana"))
    await store.append(note, text_update(doc, "!", author="Ben"))
    rows = query(
        database_url,
        "SELECT position, author, added, committed_at IS NOT NULL FROM update_log "
        "ORDER BY position",
    )
    [(head, updated)] = query(database_url, "SELECT head, updated_at FROM note")
    assert rows == [(1, "Ana", 5, True), (2, "Ben", 1, True)]
    assert head == 2 and updated


async def test_the_recent_log_holds_the_updates_of_the_last_seconds_with_their_authors(
    store: SqlDocumentStore,
) -> None:
    """What a restore reads to find who is typing: more rows than one page, none older."""
    note, doc = new_note(store), pycrdt.Doc()
    count = RECENT_PAGE + 50
    edits = [text_update(doc, "x", author=f"p{n % 3}") for n in range(count)]
    await asyncio.gather(*(store.append(note, edit) for edit in edits))
    with Session(store.engine) as session:
        old = (UpdateLog.note_id == note) & (UpdateLog.position <= 20)
        when = utcnow() - timedelta(minutes=1)
        session.execute(update(UpdateLog).where(old).values(committed_at=when))
        session.commit()
    recent = await store.recent_log(note, within_s=30)
    assert recent == [(edit.author, edit.update) for edit in edits[20:]]
    assert await store.recent_log(note + 1, within_s=30) == []


async def test_edits_close_together_grow_one_auto_version_and_a_pause_starts_another(
    engine: Engine, database_url: str
) -> None:
    async with SqlDocumentStore(engine, version_gap_s=0.3) as store:
        note, doc = new_note(store), pycrdt.Doc()
        # Close together: committed at one moment. Awaited one after the other, a commit
        # slower than a tenth of the gap (30 ms, once in a CI-style run) made Ben's edit
        # Ben taking over after a pause, which is a version of its own (auto_versions).
        store.writer.paused.clear()
        together = [
            store.append(note, text_update(doc, "one ", author="Ana")),
            store.append(note, text_update(doc, "two ", author="Ben")),
        ]
        store.writer.paused.set()
        await asyncio.gather(*together)
        await asyncio.sleep(0.35)  # a pause longer than the gap: the next edit is a new version
        await store.append(note, text_update(doc, "three", author="Ana"))
    versions = query(
        database_url, "SELECT id, kind, first_position, position, added FROM version ORDER BY id"
    )
    authors = query(
        database_url, "SELECT version_id, name FROM version_author ORDER BY version_id, name"
    )
    assert [v[1:] for v in versions] == [("auto", 1, 2, 8), ("auto", 3, 3, 5)]
    first, second = versions[0][0], versions[1][0]
    assert authors == [(first, "Ana"), (first, "Ben"), (second, "Ana")]


async def test_a_marked_version_stands_after_every_append_queued_before_it(
    store: SqlDocumentStore,
) -> None:
    note, doc = new_note(store), pycrdt.Doc()
    store.append(note, text_update(doc, "a"))
    store.append(note, text_update(doc, "b"))
    mark = await store.mark_version(note, "named", "Before the review")
    assert mark.position == 2


async def test_a_rolled_back_batch_leaves_positions_dense(
    store: SqlDocumentStore, database_url: str
) -> None:
    """A job that fails rolls its whole batch back; the rest are written again one by
    one, and the note's positions run on from where they were, with no hole."""
    note, doc = new_note(store), pycrdt.Doc()
    assert await store.append(note, text_update(doc, "a")) == 1
    store.writer.paused.clear()  # gather one batch: appends around a failing job
    before = [store.append(note, text_update(doc, c)) for c in "bc"]
    doomed = store.append(10_000, text_update(pycrdt.Doc(), "x"))  # no such note
    after = [store.append(note, text_update(doc, c)) for c in "de"]
    store.writer.paused.set()
    assert await asyncio.gather(*before, *after) == [2, 3, 4, 5]
    with pytest.raises(Exception, match="does not exist"):
        await doomed
    rows = query(database_url, "SELECT position FROM update_log WHERE note_id = :n", n=note)
    assert sorted(p for (p,) in rows) == [1, 2, 3, 4, 5]
    assert query(database_url, "SELECT head FROM note WHERE id = :n", n=note) == [(5,)]
    assert text_of(store.load_sync(note).updates) == "abcde"


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_continuous_editing_is_cut_into_versions_of_at_most_max_session_s(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a pause, an auto version still ends after MAX_SESSION_S (30 minutes;
    0.5 s here), so an afternoon's typing is more than one version."""
    monkeypatch.setattr(auto_versions, "MAX_SESSION_S", 0.5)
    async with SqlDocumentStore(engine, version_gap_s=3600) as store:
        note, doc = new_note(store), pycrdt.Doc()
        for i in range(13):  # 1.2 s of typing, never pausing for long
            await store.append(note, text_update(doc, str(i % 10)))
            await asyncio.sleep(0.1)
    spans = query(
        database_url,
        "SELECT first_position, position, started_at, created_at FROM version"
        " WHERE kind = 'auto' ORDER BY id",
    )
    # The open one grows in the note's row (storage.auto_versions): its last edit is there.
    [(head, last_edit)] = query(database_url, "SELECT head, session_last_at FROM note")
    spans[-1] = (spans[-1][0], head, spans[-1][2], last_edit)
    assert len(spans) >= 3, spans  # 1.2 s of typing at most 0.5 s a version
    assert spans[0][0] == 1 and spans[-1][1] == 13
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(spans)), spans  # no gap
    for _first, _last, started, last_edit in spans:
        assert as_datetime(last_edit) - as_datetime(started) < timedelta(seconds=0.5)


def as_datetime(value: datetime | str) -> datetime:
    """A timestamp as the driver returns it (SQLite: text; PostgreSQL: a datetime)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
