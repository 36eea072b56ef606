"""The writer thread: every write of the store, in batches, one commit per batch.

The event loop hands it jobs through a queue and gets back a future per job.
The thread takes every job waiting, runs them in one transaction, commits (one
disk sync for the whole batch, across every room), then resolves the futures in
order. While it syncs, the next batch gathers, so the more edits arrive, the
more each commit carries.

Failures never hang anyone:

* a database error (disk full, database locked past the busy timeout, a
  refused checkpoint) rolls the batch back, and the batch is retried job by job
  so that one bad job fails alone;
* anything unexpected (a bug) fails every job of its batch, is logged with its
  traceback, and the writer carries on with a fresh connection;
* if the writer cannot carry on (no connection can be made), it stops for good:
  :attr:`Writer.failure` says why, every queued and later job fails at once
  with :class:`WriterStopped`, and ``on_fatal`` is called so the process can
  report unhealthy and exit for a supervisor to restart it. That is for a
  database file, which a restart may cure. A database server that goes away
  (``survives_outages``) is waited for instead: meanwhile every batch fails
  at once, and the writer connects again as soon as it answers.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Engine

logger = logging.getLogger("storage.writer")

MAX_BATCH = 2000
RECONNECT_TRIES = 3
RECONNECT_PAUSE_S = 0.5
CHECK_IDLE_AFTER_S = 1.0
"""A database server's connection idle this long is checked before it writes again.

A server may have closed it meanwhile (a restart, a failover, ``idle_session_timeout``):
the check (one round trip, about 0.1 ms here) finds that out and connects again, so the
batch does not fail for it, which would close its rooms' peers with 1011. Not after a
shorter pause, so that typing without a break pays nothing."""


class WriterStopped(RuntimeError):
    """The writer thread stopped for good; nothing can be saved until a restart."""


@dataclass(slots=True)
class Job:
    """One write, and the future its submitter waits on.

    The store says what to write with a subclass of its own per kind of write
    (:mod:`storage.jobs`); ``run_batch`` sets ``result``, which the future
    resolves to, or the writer sets ``error``.
    """

    kind: ClassVar[str] = "job"  # what the log says of a failed one
    note: int
    future: asyncio.Future[Any]
    _: KW_ONLY  # so a subclass's own fields come next, positional (a keyword call costs more)
    result: object = None
    error: BaseException | None = field(default=None)


J = TypeVar("J", bound=Job)


class Writer(Generic[J]):
    """One thread that commits batches of jobs; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        run_batch: Callable[[Any, list[J]], None],
        *,
        expected_errors: tuple[type[BaseException], ...],
        systemic_errors: tuple[type[BaseException], ...] = (OSError,),
        on_commit: Callable[[list[J]], None] = lambda batch: None,
        on_fatal: Callable[[str], None] = lambda reason: None,
        survives_outages: bool = False,
    ) -> None:
        """Commit with ``run_batch``; ``expected_errors`` roll back and fail only their job."""
        self.engine = engine
        self.commits = 0
        self.failure: str | None = None  # why the writer stopped for good
        self.last_error: str | None = None  # the last failed commit's error, until one succeeds
        self.unfinished = False  # stop() gave up: queued writes were never committed
        self.busy_since: float | None = None  # time.monotonic() the current batch began
        self.paused = threading.Event()
        self.paused.set()  # cleared = the writer holds off (tests prove "saved" waits for disk)
        self._run_batch = run_batch
        self._expected = expected_errors
        self._systemic = systemic_errors  # errors of the database, not of one job
        self._on_commit = on_commit
        self._on_fatal = on_fatal
        self._survives_outages = survives_outages
        self._queue: queue.SimpleQueue[J | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: Any = None
        self._used_at = 0.0  # time.monotonic() the connection last answered

    # -- the loop's side --------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="collab-notes writer", daemon=True)
        self._thread.start()

    async def stop(self, timeout_s: float | None = None) -> None:
        """Commit what is queued, then end the thread; give up after ``timeout_s``.

        Giving up leaves the thread to die with the process (it is a daemon): its
        jobs were never acknowledged to anyone, so their clients still hold them.
        """
        self._queue.put(None)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, timeout_s)
            if self._thread.is_alive():
                self.unfinished = True
                logger.error(
                    "the writer did not finish within %.0f s (the disk did not answer); "
                    "stopping without it",
                    timeout_s or 0,
                    extra={"timeout_s": timeout_s},
                )

    def trouble(self, *, delayed_after_s: float = 2.0, failed: bool = True) -> str | None:
        """Why saving does not work right now, or None while it does.

        ``failed=False`` leaves out that the last commit failed: that stays true until
        one succeeds, which may be long after the database has recovered.
        """
        if self.failure is not None:
            return self.failure
        if failed and self.last_error is not None:
            return f"saving fails: {self.last_error}"
        busy_since = self.busy_since
        if busy_since is not None and time.monotonic() - busy_since > delayed_after_s:
            waited = time.monotonic() - busy_since
            return f"saving is delayed: the database has not answered for {waited:.0f} s"
        return None

    def new_future(self) -> asyncio.Future[Any]:
        if self._loop is None:
            raise RuntimeError("enter the SqlDocumentStore (async with) before writing to it")
        return self._loop.create_future()

    def submit(self, job: J) -> asyncio.Future[Any]:
        """Queue a job; a stopped writer fails it at once."""
        if self.failure is not None:
            job.future.set_exception(WriterStopped(self.failure))
        else:
            self._queue.put(job)
        return job.future

    # -- the thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._connection = self.engine.raw_connection()
            stopping = False
            while not stopping:
                batch, stopping = self._take_batch()
                self.paused.wait()
                if batch and (self._connection is not None or self._connect_for(batch)):
                    self._check_if_idle()
                    self._write_safely(batch)
                    self._used_at = time.monotonic()
        except Exception as error:  # no connection could be had: the writer cannot go on
            self._stop_for_good(error)
        finally:
            self._close_connection()
        logger.info(
            "writer stopped after %d commits", self.commits, extra={"commits": self.commits}
        )

    def _take_batch(self) -> tuple[list[J], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    def _write_safely(self, batch: list[J]) -> None:
        self.busy_since = time.monotonic()
        try:
            self._write(batch)
        except Exception as error:
            notes = sorted({job.note for job in batch})[:10]
            logger.exception(
                "unexpected error writing %d jobs (notes %s); they fail, the writer goes on",
                len(batch),
                notes,
                extra={"jobs": len(batch), "notes": notes, "error": repr(error)},
            )
            for job in batch:
                job.error = job.error or error
            self.last_error = repr(error)[:200]
            self._resolve(batch)
            self._reconnect()
        finally:
            self.busy_since = None

    def _check_if_idle(self) -> None:
        """Connect again if the server closed the connection while it was idle."""
        if not self._survives_outages or time.monotonic() - self._used_at < CHECK_IDLE_AFTER_S:
            return
        try:
            cursor = self._connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            self._connection.rollback()  # end the transaction the check began
        except Exception as error:
            logger.warning("writer: the idle connection was closed (%r); connecting again", error)
            self._reconnect()

    def _connect_for(self, batch: list[J]) -> bool:
        """Connect again after an outage; if the database still does not answer, fail ``batch``."""
        try:
            self._connection = self.engine.raw_connection()
        except Exception as error:
            for job in batch:
                job.error = error
            self.last_error = repr(error)[:200]
            self._resolve(batch)
            return False
        logger.warning("writer: the database answers again")
        return True

    def _write(self, batch: list[J]) -> None:
        if self._connection is None and not self._connect_for(batch):
            return  # lost while retrying the jobs one by one, and still away
        try:
            self._commit(batch)
        except self._expected as error:
            self._roll_back()
            if len(batch) == 1:
                batch[0].error = error
                if isinstance(error, self._systemic):
                    self.last_error = repr(error)[:200]
                logger.error(
                    "write for note=%s failed: %r",
                    batch[0].note,
                    error,
                    extra={"note": batch[0].note, "kind": batch[0].kind, "error": repr(error)},
                )
            else:
                # Find the culprit: one bad job must not fail the other rooms' edits.
                for job in batch:
                    self._write([job])
                return
        self._resolve(batch)

    def _commit(self, batch: list[J]) -> None:
        cursor = self._connection.cursor()
        try:
            self._run_batch(cursor, batch)
        finally:
            cursor.close()
        self._connection.commit()
        self.commits += 1
        self.last_error = None
        self._on_commit(batch)

    def _roll_back(self) -> None:
        try:
            self._connection.rollback()
        except self._expected:
            self._reconnect()  # the connection itself is broken: start afresh

    def _reconnect(self) -> None:
        """A fresh connection; after a few failed tries, raise (the writer stops)."""
        self._close_connection()
        for attempt in range(1, RECONNECT_TRIES + 1):
            try:
                self._connection = self.engine.raw_connection()
                return
            except Exception as error:
                if attempt == RECONNECT_TRIES:
                    if self._survives_outages:
                        logger.error("writer: the database is away (%r); waiting for it", error)
                        return  # without a connection: the next batch tries again
                    raise
                logger.warning("writer: reconnecting (try %d) failed", attempt, exc_info=True)
                time.sleep(RECONNECT_PAUSE_S * attempt)

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: it may be in any state
            except Exception:
                logger.debug("writer: closing a connection failed", exc_info=True)

    def _stop_for_good(self, error: BaseException) -> None:
        self.failure = f"the writer stopped: {error!r}"[:300]
        logger.critical(
            "%s; nothing can be saved until the server restarts",
            self.failure,
            extra={"error": repr(error)},
        )
        self._fail_queued()
        assert self._loop is not None
        try:
            # Jobs are submitted on the loop's thread: a drain there, after ``failure``
            # is set, catches any that raced this one; later ones fail in submit().
            self._loop.call_soon_threadsafe(self._fail_queued)
            self._loop.call_soon_threadsafe(self._on_fatal, self.failure)
        except RuntimeError:
            logger.warning("event loop closed before the writer's failure was reported")

    def _fail_queued(self) -> None:
        leftover: list[J] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                leftover.append(job)
        for job in leftover:
            job.error = WriterStopped(self.failure or "the writer stopped")
        if threading.current_thread() is self._thread:
            self._resolve(leftover)
        else:
            _settle(leftover)

    def _resolve(self, batch: list[J]) -> None:
        if not batch:
            return
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(_settle, batch)
        except RuntimeError:
            logger.warning("event loop closed before %d writes were acknowledged", len(batch))


def _settle(batch: Sequence[Job]) -> None:
    for job in batch:
        if job.future.done():
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
