"""A note's history in the store: every version replays exactly, nothing is lost to a
checkpoint racing appends, and thinning keeps what it must."""

from __future__ import annotations

import asyncio
import random
import tempfile
from datetime import timedelta
from pathlib import Path

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, update
from sqlmodel import Session
from support.sql import query

from collab import document
from collab.persistence import Edit
from storage import history, notes
from storage.db import create_schema, make_engine
from storage.models import Note, UpdateLog, Version, VersionAuthor, utcnow
from storage.retention import notes_to_thin, thin
from storage.updates import SqlDocumentStore

Step = tuple[str, int, str]  # ("insert" | "delete" | "checkpoint", where, what)


def apply_step(doc: pycrdt.Doc, step: Step) -> bytes | None:
    kind, where, what = step
    text = doc.get("content", type=pycrdt.Text)
    before = doc.get_state()
    size = len(str(text).encode())
    if kind == "insert":
        text.insert(_boundary(str(text), where), what)
    elif kind == "delete" and size:
        start = _boundary(str(text), where)
        end = _boundary(str(text), start + len(what.encode()))
        if end > start:
            del text[start:end]
    else:
        return None
    return doc.get_update(before)


def _boundary(text: str, where: int) -> int:
    """A byte offset at a character boundary (pycrdt 0.14 indexes text by UTF-8 bytes)."""
    raw = text.encode()
    at = min(where, len(raw))
    while at and at < len(raw) and (raw[at] & 0xC0) == 0x80:
        at -= 1
    return at


steps = st.lists(
    st.tuples(
        st.sampled_from(["insert", "insert", "delete", "checkpoint"]),
        st.integers(0, 200),
        st.text(alphabet="abc é日😀\n", min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=40,
)


def new_store(engine: Engine) -> tuple[SqlDocumentStore, int]:
    with Session(engine) as session:
        note = notes.create_note(session=session).id
    assert note is not None
    return SqlDocumentStore(engine), note


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_every_position_replays_to_exactly_the_text_the_note_had_then(steps: list[Step]) -> None:
    async def run(path: Path) -> None:
        engine = make_engine(f"sqlite:///{path}")
        create_schema(engine)
        store, note = new_store(engine)
        doc: pycrdt.Doc = pycrdt.Doc()
        expected: dict[int, str] = {}
        async with store:
            for step in steps:
                update = apply_step(doc, step)
                if update is None:
                    await store.checkpoint(note)  # a checkpoint somewhere in the history
                    continue
                position = await store.append(note, Edit(update, "Ana", 1))
                expected[position] = str(doc.get("content", type=pycrdt.Text))
        for position, text in expected.items():
            replayed = store.load_sync(note, upto=position)
            assert document.text(document.build(replayed.updates)) == text, position
        store.engine.dispose()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "notes.db"))


async def test_checkpoints_racing_appends_lose_nothing(engine: Engine, database_url: str) -> None:
    store, note = new_store(engine)
    doc: pycrdt.Doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    rng = random.Random(3)
    async with store:
        pending = []
        for i in range(300):
            before = doc.get_state()
            text.insert(rng.randint(0, len(str(text))), str(i % 10))
            pending.append(store.append(note, Edit(doc.get_update(before))))
            if i % 37 == 0:
                pending.append(store.checkpoint(note))
        await asyncio.gather(*pending)
        await store.checkpoint(note)
    loaded = store.load_sync(note)
    assert document.text(document.build(loaded.updates)) == str(text)
    assert query(database_url, "SELECT count(*) FROM update_log") == [(300,)]
    checkpoints = query(database_url, "SELECT position FROM checkpoint")
    assert checkpoints and all(0 < position <= 300 for (position,) in checkpoints)
    for (position,) in checkpoints:  # each stands for exactly the log up to it
        at = store.load_sync(note, upto=position)
        assert at.checkpoint == position


async def test_thinning_keeps_named_versions_and_one_version_a_day(
    engine: Engine, database_url: str
) -> None:
    store, note = new_store(engine)
    doc: pycrdt.Doc = pycrdt.Doc()
    texts: dict[int, str] = {}
    async with store:
        for i in range(12):
            before = doc.get_state()
            doc.get("content", type=pycrdt.Text).insert(0, f"{i} ")
            position = await store.append(note, Edit(doc.get_update(before), f"P{i % 3}", 2))
            texts[position] = str(doc.get("content", type=pycrdt.Text))
            if i == 4:
                named = await store.mark_version(note, "named", "Before the review")
    # Three days ago, two days ago, and recent: rewrite when each update was committed.
    # On calendar days, whatever the time of day the test runs (relative ages put both
    # old groups on one day in the small hours, and the test failed there).
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(store.engine) as session:
        for position in range(1, 13):
            if position <= 4:
                when = midnight - timedelta(days=3) + timedelta(hours=12)
            elif position <= 10:
                when = midnight - timedelta(days=2) + timedelta(hours=position)
            else:
                when = now
            logged = (UpdateLog.note_id == note) & (UpdateLog.position == position)
            versioned = (Version.note_id == note) & (Version.position == position)
            session.exec(update(UpdateLog).where(logged).values(committed_at=when))  # type: ignore[call-overload]
            session.exec(update(Version).where(versioned).values(created_at=when))  # type: ignore[call-overload]
        session.commit()
    cutoff = utcnow() - timedelta(days=1)
    assert notes_to_thin(store.engine, cutoff) == [note]

    def state_at(n: int, position: int) -> bytes:
        return document.build(store.load_sync(n, upto=position).updates).get_update()

    result = thin(store.engine, note, cutoff, state_at)
    assert result is not None and result.rows == 10
    assert notes_to_thin(store.engine, cutoff) == []
    # The note still loads whole; the named version and each day's last still read back.
    assert document.text(document.build(store.load_sync(note).updates)) == texts[12]
    kept = {row[0] for row in query(database_url, "SELECT position FROM checkpoint")}
    left = [row[0] for row in query(database_url, "SELECT position FROM update_log ORDER BY 1")]
    assert kept >= {4, named.position, 10}  # each old day's last, and the named version's
    assert left == [11, 12]
    for position in {4, named.position, 10, 11, 12}:
        replayed = document.text(document.build(store.load_sync(note, upto=position).updates))
        assert replayed == texts[position]
    with Session(store.engine) as session:
        listed = history.list_versions(session=session, note_id=note)
    assert named.id in {version.id for version in listed}


async def test_thinning_merges_each_old_days_auto_versions_into_one(
    engine: Engine, database_url: str
) -> None:
    store, note = new_store(engine)
    doc: pycrdt.Doc = pycrdt.Doc()
    async with store:
        for _ in range(6):
            before = doc.get_state()
            doc.get("content", type=pycrdt.Text).insert(0, "x")
            await store.append(note, Edit(doc.get_update(before), "Ana", 1))
    old = utcnow() - timedelta(days=5)
    with Session(store.engine) as session:
        session.exec(update(UpdateLog).values(committed_at=old))  # type: ignore[call-overload]
        session.exec(delete(VersionAuthor))  # type: ignore[call-overload]
        session.exec(delete(Version))  # type: ignore[call-overload]
        session.exec(update(Note).values(session_version=None))  # type: ignore[call-overload]
        for position, author in ((2, "Ana"), (4, "Ben"), (6, "Cat")):
            version = Version(
                note_id=note,
                kind="auto",
                position=position,
                first_position=position - 1,
                started_at=old,
                created_at=old,
                added=2,
                removed=1,
            )
            session.add(version)
            session.flush()
            session.add(VersionAuthor(version_id=version.id, name=author))
        session.commit()

    def state_at(n: int, position: int) -> bytes:
        return document.build(store.load_sync(n, upto=position).updates).get_update()

    result = thin(store.engine, note, utcnow() - timedelta(days=1), state_at)
    assert result is not None and result.versions_merged == 2
    with Session(store.engine) as session:
        [day] = history.list_versions(session=session, note_id=note)
    assert (day.position, day.added, day.removed) == (6, 6, 3)
    assert day.authors == ("Ana", "Ben", "Cat")


async def test_the_open_version_lists_with_its_figures_as_they_stand_and_pages_in_order(
    engine: Engine,
) -> None:
    """The open auto version grows in its note's row (storage.auto_versions): listed, read or
    paged past, it stands at the note's head with the session's counts so far."""
    store, note = new_store(engine)
    doc: pycrdt.Doc = pycrdt.Doc()

    async def type_(chars: str, author: str) -> None:
        for char in chars:
            before = doc.get_state()
            doc.get("content", type=pycrdt.Text).insert(0, char)
            await store.append(note, Edit(doc.get_update(before), author, 1))

    def listed(before: int | None = None) -> list[history.VersionSummary]:
        with Session(store.engine) as session:
            return history.list_versions(session=session, note_id=note, before=before)

    async with store:
        await type_("abc", "Ana")
        named = await store.mark_version(note, "named", "Three letters")
        [first, second] = listed()  # at one position, the later version lists first
        assert (first.id, second.kind) == (named.id, "auto")
        assert (second.position, second.added, second.authors) == (3, 3, ("Ana",))
        await type_("de", "Ben")
        [auto, named_again] = listed()
        assert (auto.id, auto.position, auto.added) == (second.id, 5, 5)
        assert auto.authors == ("Ana", "Ben") and named_again.id == named.id
        assert [v.id for v in listed(before=auto.id)] == [named.id]
        assert listed(before=named.id) == []
        with Session(store.engine) as session:
            read = history.get_version(session=session, note_id=note, version_id=auto.id)
        assert read == auto
