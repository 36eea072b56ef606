"""Keeping the search index level with the log, off the keystroke path.

Nothing on the way of a keystroke touches the index. Instead a task of the
server looks, every ``SWEEP_S``, for notes whose index is behind their head
(one query: ``note.head`` against ``search_note.position``; every ``IDLE_SWEEP_S``
while none is behind), which finds the
edits of every process sharing the database, notes made over REST, and after a
restart or a SIGKILL every note left behind. A note is indexed once its head
has not moved for one sweep (a pause in typing), or at the latest ``MAX_WAIT_S``
after it was first seen behind, so a committed word is findable within about
``IDLE_SWEEP_S + MAX_WAIT_S + SWEEP_S`` plus the indexing itself, under 2 s, while
typing never indexes more than once a second per note.

An entry is built on a worker thread: the note's text from the log (title: its
first line; body: the rest), and for each version closed since the last entry,
and for the open session, the text it removed from the version before it
(``collab.textdiff``), and on PostgreSQL its vectors, made on the thread's own
connection. The store's writer thread writes the entries in its next batch, a few
together (``WRITE_CHARS``), so SQLite sees no second writer. Several processes on one database may
index the same note; the later position wins (``storage.indexing.write_entry``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pycrdt import Doc, Text
from sqlalchemy import Engine, text

from collab import document
from collab.textdiff import DELETE, text_diff
from storage import indexing as index_sql
from storage.indexing import IndexEntry, Removal, split_title
from storage.models import utcnow
from storage.updates import SqlDocumentStore
from web.logs import Failures

logger = logging.getLogger("web.searchindex")

SWEEP_S = 0.25
IDLE_SWEEP_S = 0.5  # while no note is behind: a commit is still seen within 0.5 s
MAX_WAIT_S = 1.0
BATCH = 50  # notes indexed per round: a catch-up after a restart goes in steps this size
BUILD_GROUP = 10  # notes built per worker-thread call, written while the next group is built
BUILDERS = 2  # worker threads building a group's entries
WRITE_CHARS = 50_000
"""Text (title, body, removed text) of the entries one writer job holds: appends
(keystrokes) in the writer's batch wait for its transaction. With its vectors made
beforehand (``storage.indexing.with_vectors``), a 10 KB entry took PostgreSQL's
writer 6-8 ms, against 14-18 ms making them itself (a loaded 2-core machine)."""
DIFF_TIMEOUT_S = 0.05
REINDEX_COMMIT_EVERY = 100  # notes per transaction of collab-notes reindex

APART_LOG_BYTES = 32 * 1024
"""Logged updates of more bytes than this are applied in a process of its own.

pycrdt holds the GIL while it applies, and what an update costs it is not its
size: a find-and-replace over 4,000 lines of a 200 KB note, 400 KB in the log,
cost this thread 0.6-1 s of applies, and the event loop (which gets the GIL back
only between them) held another note's keystrokes for 0.2-1.4 s (bench/FREEZE.md).
A second of one person's typing is 1-2 KB."""

STOP_WAIT_S = 3.0
"""How long a stop waits for the indexer's round in progress before it cancels it."""


def removed_text(old: str, new: str) -> str:
    """What ``new`` no longer has of ``old``: the deleted pieces, one line each."""
    pieces = (piece.strip() for op, piece in text_diff(old, new, DIFF_TIMEOUT_S) if op == DELETE)
    return "\n".join(piece for piece in pieces if piece)


def build_entry(
    engine: Engine,
    store: SqlDocumentStore,
    note: int,
    *,
    replace: bool = False,
    recent: Recent | None = None,
) -> IndexEntry:
    """The note's index entry as its log stands now (on a worker thread).

    ``recent`` keeps documents and texts between calls, so that indexing a note
    being typed in reads only the updates since the last time.
    """
    texts = _Texts(store, note, recent or Recent())
    head = texts.head
    with engine.connect() as connection:
        state = None if replace else index_sql.indexed(connection, note)
        listed, open_version = index_sql.versions(connection, note)
        done = 0 if state is None else state[1]
        removals = []
        for (before, before_at), (version, at) in itertools.pairwise(listed):
            is_open = version == open_version
            if (not is_open and at <= done) or at > head:
                continue  # indexed already, or committed after the load
            gone = removed_text(texts.at(before_at), texts.at(at)) if at > before_at else ""
            who = index_sql.last_removal(connection, note, before_at, at) if gone else None
            if who is not None or is_open:  # the open session's row goes when it removes nothing
                by, when = who or (None, utcnow())
                removals.append(Removal(before, version, gone, by, when))
        closed = [at for version, at in listed if version != open_version and at <= head]
        title, body = split_title(texts.at(head))
        entry = IndexEntry(
            note, head, title, body, max(closed, default=0), tuple(removals), replace
        )
        return index_sql.with_vectors(connection, entry)


class Recent:
    """What the indexer built lately: documents at their log position, and past texts.

    Typing in a note re-indexes it every second; rebuilding it from its
    checkpoint each time, and the text of the version before its open session,
    cost the server CPU that the keystrokes share (bench/README.md). Held to
    ``size`` notes each, least recently used out first.
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._lock = threading.Lock()  # the builders share it, each with its own notes
        self._docs: OrderedDict[int, tuple[int, Doc[Text]]] = OrderedDict()
        self._texts: OrderedDict[tuple[int, int], str] = OrderedDict()

    def current(self, store: SqlDocumentStore, note: int) -> tuple[int, str]:
        """The note's head and its text there: the cached document and the log after it."""
        with self._lock:
            cached = self._docs.pop(note, None)
        if cached is not None:
            position, doc = cached
            rows = store.read_log_sync(note, position)
            if rows and rows[0][0] != position + 1:
                cached = None  # history thinned under it: build afresh
            elif rows:
                cached = rows[-1][0], _applied(doc, [data for _, data in rows])
        if cached is None:
            loaded = store.load_sync(note, merged=False)
            log = list(loaded.updates[1:] if loaded.checkpoint else loaded.updates)
            base = _decoded(loaded.updates[0]) if loaded.checkpoint else Doc()  # whole
            cached = loaded.head, _applied(base, log)
        self._keep(self._docs, note, cached)
        return cached[0], document.text(cached[1])

    def text_at(self, store: SqlDocumentStore, note: int, position: int) -> str:
        """The note's text at a past position (kept: versions do not change)."""
        with self._lock:
            text = self._texts.pop((note, position), None)
        if text is None:
            text = document.text(document.build(store.load_sync(note, position).updates))
        self._keep(self._texts, (note, position), text)
        return text

    def _keep(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            cache[key] = value
            while len(cache) > self._size:
                cache.popitem(last=False)


def _applied(doc: Doc[Text], updates: list[bytes]) -> Doc[Text]:
    """``doc`` with logged ``updates`` applied: here, merged in runs (the keystrokes of a
    second of typing applied one by one cost about what the room spent applying them),
    or past :data:`APART_LOG_BYTES` in a process of its own, whose document is read back."""
    if sum(len(update) for update in updates) <= APART_LOG_BYTES:
        for run in document.merged_runs(updates):
            doc.apply_update(run)
        return doc
    return _decoded(document.encode([doc.get_update(), *updates], apart_bytes=0))


def _decoded(state: bytes) -> Doc[Text]:
    doc: Doc[Text] = Doc()
    doc.apply_update(state)  # a whole document's state: 7 ms for the 200 KB note above
    return doc


class _Texts:
    """A note's text at log positions, for one entry: the head's first."""

    def __init__(self, store: SqlDocumentStore, note: int, recent: Recent) -> None:
        self._store = store
        self._note = note
        self._recent = recent
        self.head, current = recent.current(store, note)
        self._texts = {self.head: current}

    def at(self, position: int) -> str:
        if position not in self._texts:
            self._texts[position] = self._recent.text_at(self._store, self._note, position)
        return self._texts[position]


class SearchIndexer:
    """The server's task that keeps the index level with the log (see the module docstring)."""

    def __init__(self, engine: Engine, store: SqlDocumentStore) -> None:
        self._engine = engine
        self._store = store
        self._seen: dict[int, tuple[int, float]] = {}  # note -> (head, first seen behind)
        self._recent = Recent()
        self._failures = Failures(logger, engine, "search index")
        self.rounds = 0
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Sweep until :attr:`stopping` is set; a failed round is logged, the next tries again.

        Not cancelled: a cancelled ``to_thread`` leaves its thread running, and one
        still reading when the app disposes the engine strands its connection.
        """
        while not self.stopping.is_set():
            done = 0
            try:
                done = await self.round()
            except Exception as error:  # the next round tries again
                self._failures.failed("search indexing", error)
            if done == BATCH:  # more may be ready: a catch-up goes on without a pause
                await asyncio.sleep(0)
                continue
            pause = SWEEP_S if self._seen else IDLE_SWEEP_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), pause)

    async def round(self) -> int:
        """Index the notes that are ready; return how many.

        Built a few notes at a time on ``BUILDERS`` worker threads, each group
        written while the next is built: a catch-up of 1,000 notes is bound by the
        two together, and a builder mostly waits for PostgreSQL's round trips
        (500 notes behind at a restart: 31 s with one builder, 20 s with two, on
        the loaded 2-core machine).
        """
        found = await asyncio.to_thread(self._behind)
        ready = self._ready(found, time.monotonic())
        groups = [ready[start : start + BUILD_GROUP] for start in range(0, len(ready), BUILD_GROUP)]
        entries: list[IndexEntry] = []
        for group in groups:
            building = [asyncio.to_thread(self._build, group[i::BUILDERS]) for i in range(BUILDERS)]
            _, built = await asyncio.gather(self._write(entries), asyncio.gather(*building))
            entries = [entry for part in built for entry in part]
        await self._write(entries)
        self.rounds += 1
        return len(ready)

    async def _write(self, entries: list[IndexEntry]) -> None:
        """Write ``entries`` in jobs of about ``WRITE_CHARS``; a failed job, note by note."""
        for job in _jobs(entries):
            try:
                await self._store.write_index(job)
            except Exception as error:
                if len(job) > 1:  # one note's failure (purged meanwhile?) fails its job
                    await self._write_each(job)
                    continue
                logger.error(  # that note only; the next round tries it again
                    "could not write the search entry of note=%s: %r",
                    job[0].note,
                    error,
                    extra={"note": job[0].note, "error": repr(error)},
                )

    async def _write_each(self, entries: list[IndexEntry]) -> None:
        for entry in entries:
            await self._write([entry])

    def _behind(self) -> list[tuple[int, int]]:
        with self._engine.connect() as connection:
            return index_sql.behind(connection, limit=BATCH * 20)

    def _ready(self, found: list[tuple[int, int]], now: float) -> list[int]:
        """The notes to index now, at most ``BATCH``; the rest stay seen, as they were.

        A note ready beyond the batch stays ready for the next round: dropped, it
        waited a sweep to be seen again, and a catch-up of 1,000 notes indexed
        50 notes every other round.
        """
        seen, self._seen = self._seen, {}
        ready: list[int] = []
        for note, head in found:
            last = seen.get(note)
            first = now if last is None else last[1]
            due = last is not None and (last[0] == head or now - first >= MAX_WAIT_S)
            if due and len(ready) < BATCH:
                ready.append(note)
            else:
                self._seen[note] = (head, first)
        return ready

    def _build(self, notes: list[int]) -> list[IndexEntry]:
        entries = []
        for note in notes:
            if self.stopping.is_set():
                break
            try:
                entries.append(build_entry(self._engine, self._store, note, recent=self._recent))
            except Exception as error:  # the next round tries it again
                self._failures.failed(f"indexing note={note}", error, note=note)
        return entries


def _jobs(entries: list[IndexEntry]) -> list[list[IndexEntry]]:
    """``entries`` in runs of at most ``WRITE_CHARS`` of text (at least one entry each)."""
    jobs: list[list[IndexEntry]] = []
    size = 0
    for entry in entries:
        chars = len(entry.title) + len(entry.body) + sum(len(r.text) for r in entry.removals)
        if not jobs or size + chars > WRITE_CHARS:
            jobs.append([])
            size = 0
        jobs[-1].append(entry)
        size += chars
    return jobs


@asynccontextmanager
async def indexing(engine: Engine, store: SqlDocumentStore) -> AsyncIterator[SearchIndexer]:
    """Run a :class:`SearchIndexer` for as long as the block runs."""
    indexer = SearchIndexer(engine, store)
    task = asyncio.create_task(indexer.run(), name="search indexer")
    try:
        yield indexer
    finally:
        indexer.stopping.set()
        # Stopped, not cancelled, so that a round in a worker thread ends with its
        # connection returned; but not waited for past a bound: behind a locked or lost
        # database a round waits out the busy timeout (30 s), and SIGTERM must not.
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def reindex(
    engine: Engine, store: SqlDocumentStore, progress: Callable[[int, int], None]
) -> tuple[int, int]:
    """Rebuild every note's entry from its log, directly (no server); return (done, failed)."""
    with engine.connect() as connection:
        notes = [int(n) for (n,) in connection.execute(text("SELECT id FROM note ORDER BY id"))]
    sql = index_sql.IndexStatements(engine.dialect)
    done = failed = 0
    raw = engine.raw_connection()
    try:
        for index, note in enumerate(notes, start=1):
            try:
                entry = build_entry(engine, store, note, replace=True)
            except Exception as error:
                failed += 1
                logger.error("note %s: cannot be indexed: %r", note, error)
                continue
            cursor = raw.cursor()
            index_sql.write_entry(cursor, sql, entry, utcnow())
            cursor.close()
            done += 1
            if done % REINDEX_COMMIT_EVERY == 0:
                raw.commit()
            progress(index, len(notes))
        raw.commit()
    finally:
        raw.close()
    return done, failed
