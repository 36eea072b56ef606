"""A long note history, written through the real store with a simulated clock.

A few authors take turns typing into one note over a few weeks: sessions of
keystrokes (one Yjs update each, made by the author's own pycrdt document, so
each author has a client id of their own), with backspaces, the odd paste and
the odd deleted selection, separated by pauses from seconds to a night. The
updates go through :class:`storage.updates.SqlDocumentStore`, so versions grow
exactly as the server grows them; only the store's clock is replaced
(``storage.updates.utcnow``), set to when each burst was typed. Checkpoints
are written when the server would write them: after 1,000 logged updates, and
when a note stays quiet for 30 s (the defaults of ``--checkpoint-after-updates``
and ``--checkpoint-after-idle-s``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pycrdt
from sqlalchemy import Engine, update
from sqlmodel import Session

import storage.updates
from collab.document import TEXT_NAME
from collab.persistence import Edit
from storage.db import Durability, create_schema, make_engine
from storage.models import Note
from storage.notes import create_note
from storage.updates import SqlDocumentStore

AUTHORS = ("Ana", "Ben", "Chloé", "Dev")
_VOCABULARY = """
the note keeps every word we typed and a version for each pause so that a deleted
paragraph comes back with one click while someone else types review plan meeting
budget draft open question decision owner deadline agenda notes action items next
week release server client history restore compare named automatic before after
check test measure figure result customer support design document team lead
"""
WORDS = tuple(_VOCABULARY.split())
KEYSTROKE_S = 0.2  # five keystrokes a second
BURST_S = 10.0  # keystrokes this close together are committed with one clock reading
CHECKPOINT_AFTER_UPDATES = 1000
CHECKPOINT_AFTER_IDLE_S = 30.0
MAX_SPAN = timedelta(days=25)  # inside the default --history-days 30: nothing is thinned


@dataclass
class Clock:
    """The time the store believes it is."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Typist:
    """One author's editor: a pycrdt document that sees the others' edits when it starts."""

    name: str
    doc: pycrdt.Doc[pycrdt.Text] = field(default_factory=pycrdt.Doc)
    made: list[bytes] = field(default_factory=list)
    _remote: bool = False

    def __post_init__(self) -> None:
        self.text = self.doc.get(TEXT_NAME, type=pycrdt.Text)
        self.typing = words(random.Random(self.name))
        self.doc.observe(self._on_change)

    def _on_change(self, event: pycrdt.TransactionEvent) -> None:
        if not self._remote:
            self.made.append(event.update)

    def catch_up(self, shared: pycrdt.Doc[pycrdt.Text]) -> None:
        self._remote = True
        try:
            self.doc.apply_update(shared.get_update(self.doc.get_state()))
        finally:
            self._remote = False

    def edit(self, rng: random.Random, cursor: int) -> tuple[bytes, int, int, int]:
        """One keystroke (or paste, or cut) at ``cursor``: (update, added, removed, cursor)."""
        size = len(self.text)
        roll = rng.random()
        if roll < 0.002 and size > 300:  # a selection deleted
            start = rng.randrange(0, size - 300)
            length = rng.randint(20, 300)
            del self.text[start : start + length]
            return self.made.pop(), 0, length, min(start, size - length)
        if roll < 0.004:  # a paragraph pasted
            chunk = paragraph(rng, rng.randint(100, 400))
            self.text.insert(cursor, chunk)
            return self.made.pop(), len(chunk), 0, cursor + len(chunk)
        if roll < 0.08 and cursor > 0:  # backspace
            del self.text[cursor - 1 : cursor]
            return self.made.pop(), 0, 1, cursor - 1
        self.text.insert(cursor, next(self.typing))
        return self.made.pop(), 1, 0, cursor + 1


def paragraph(rng: random.Random, length: int) -> str:
    out = "\n\n## " + rng.choice(WORDS).title() + "\n\n"
    while len(out) < length:
        out += rng.choice(WORDS) + rng.choice(("", "", "", ",", ".")) + " "
    return out[:length]


def words(rng: random.Random) -> Iterator[str]:
    """Characters as a person types them: words, spaces, punctuation, now and then a paragraph."""
    while True:
        yield from rng.choice(WORDS)
        roll = rng.random()
        yield from ".\n\n" if roll < 0.02 else ". " if roll < 0.08 else ", " if roll < 0.12 else " "


@dataclass(frozen=True)
class Sitting:
    """A session of typing: who, how many updates, and the pause after it."""

    author: str
    updates: int
    pause_after_s: float


def plan(rng: random.Random, total: int) -> list[Sitting]:
    """Sessions adding up to ``total`` updates, with pauses that fit in ``MAX_SPAN``."""
    sessions: list[Sitting] = []
    left = total
    author = AUTHORS[0]
    while left > 0:
        count = min(left, int(rng.lognormvariate(5.3, 0.8)) + 20)  # a median of ~220
        if rng.random() < 0.4:
            author = rng.choice(AUTHORS)
        sessions.append(Sitting(author, count, pause(rng)))
        left -= count
    typing_s = total * KEYSTROKE_S
    paused_s = sum(s.pause_after_s for s in sessions)
    room = MAX_SPAN.total_seconds() - typing_s
    if paused_s > room:  # squeeze the long pauses, keep the short ones as they are
        scale = room / paused_s
        sessions = [
            Sitting(s.author, s.updates, s.pause_after_s * (scale if s.pause_after_s > 600 else 1))
            for s in sessions
        ]
    return sessions


def pause(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.4:
        return rng.uniform(2, 25)  # a breath: the same version
    if roll < 0.7:
        return rng.uniform(30, 290)  # a coffee: a new version if someone else goes on
    if roll < 0.95:
        return rng.uniform(300, 4 * 3600)  # a meeting: a new version
    return rng.uniform(8 * 3600, 40 * 3600)  # a night or a weekend


@dataclass(frozen=True)
class Seeded:
    """What was written."""

    token: str
    note_id: int
    updates: int
    text_chars: int
    text_bytes: int
    started_at: datetime
    ended_at: datetime


def seed(database: Path, total: int, rng_seed: int = 12) -> Seeded:
    """Write a note whose log holds ``total`` updates into a new SQLite file."""
    return asyncio.run(_seed(database, total, random.Random(rng_seed)))


async def _seed(database: Path, total: int, rng: random.Random) -> Seeded:
    # NORMAL, not FULL: the seed is not what is measured, and a sync per burst adds minutes.
    engine = make_engine(f"sqlite:///{database}", Durability.NORMAL)
    create_schema(engine)
    with Session(engine) as session:
        note = create_note(session=session)
        assert note.id is not None
        token, note_id = note.edit_token, note.id
    sessions = plan(rng, total)
    span = sum(s.updates for s in sessions) * KEYSTROKE_S + sum(s.pause_after_s for s in sessions)
    clock = Clock(datetime.now(UTC) - timedelta(seconds=span + 3600))
    started_at = clock.now
    _backdate(engine, note_id, started_at)
    shared: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    typists = {name: Typist(name) for name in AUTHORS}
    real_clock = storage.updates.__dict__["utcnow"]
    setattr(storage.updates, "utcnow", clock)  # noqa: B010 (not a public name of the module)
    try:
        async with SqlDocumentStore(engine) as store:
            writer = _Writer(store, note_id, clock)
            for sitting in sessions:
                typist = typists[sitting.author]
                typist.catch_up(shared)
                await writer.type(typist, shared, sitting.updates, rng)
                await writer.pause(sitting.pause_after_s)
    finally:
        setattr(storage.updates, "utcnow", real_clock)  # noqa: B010
    engine.dispose()
    content = str(shared.get(TEXT_NAME, type=pycrdt.Text))
    return Seeded(
        token,
        note_id,
        writer.logged,
        len(content),
        len(content.encode()),
        started_at,
        clock.now,
    )


def _backdate(engine: Engine, note_id: int, moment: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Note).where(Note.id == note_id).values(created_at=moment)  # type: ignore[arg-type]
        )


class _Writer:
    """Feeds one note's edits to the store in bursts, checkpointing as the server does."""

    def __init__(self, store: SqlDocumentStore, note_id: int, clock: Clock) -> None:
        self.store, self.note_id, self.clock = store, note_id, clock
        self.logged = 0
        self.since_checkpoint = 0

    async def type(
        self, typist: Typist, shared: pycrdt.Doc[pycrdt.Text], count: int, rng: random.Random
    ) -> None:
        cursor = rng.randint(0, len(typist.text))
        for burst in _bursts(count):
            pending = []
            for _ in range(burst):
                data, added, removed, cursor = typist.edit(rng, cursor)
                cursor = max(0, min(cursor, len(typist.text)))
                shared.apply_update(data)
                pending.append(
                    self.store.append(self.note_id, Edit(data, typist.name, added, removed))
                )
            await asyncio.gather(*pending)
            self.logged += burst
            self.since_checkpoint += burst
            self.clock.now += timedelta(seconds=burst * KEYSTROKE_S)
            if self.since_checkpoint >= CHECKPOINT_AFTER_UPDATES:
                await self._checkpoint()

    async def pause(self, seconds: float) -> None:
        if seconds >= CHECKPOINT_AFTER_IDLE_S and self.since_checkpoint:
            self.clock.now += timedelta(seconds=CHECKPOINT_AFTER_IDLE_S)
            await self._checkpoint()
            seconds -= CHECKPOINT_AFTER_IDLE_S
        self.clock.now += timedelta(seconds=seconds)

    async def _checkpoint(self) -> None:
        await self.store.checkpoint(self.note_id)
        self.since_checkpoint = 0


def _bursts(count: int) -> Iterator[int]:
    per_burst = int(BURST_S / KEYSTROKE_S)
    while count > 0:
        yield min(count, per_burst)
        count -= per_burst
