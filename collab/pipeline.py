"""The write pipeline of one room: append, commit, then broadcast, in that order.

This order is the durability promise, and this module is the one place that
keeps it:

1. the room applies a peer's checked update and hands what it changed to
   :meth:`WritePipeline.write`;
2. the changes of one event-loop turn are merged and appended to the store as
   one update per author (the log says who made each); the store returns a
   future that resolves, once it is committed, to its position in the log;
3. only then is it broadcast to the room's peers (what several appends
   committed in one turn goes out as one frame), and only then do sync answers
   and save acknowledgements that might cover it go out
   (:meth:`WritePipeline.after_appends`).

The store resolves futures in append order, so broadcasts leave in the order
the edits arrived. If a write fails, nothing of it is broadcast: the pipeline
stops and tells the room, which disconnects everyone and is reloaded from what
the store really holds.

A checkpoint (the whole document at the end of the log, written beside it:
the logged updates stay, they are the history) is asked of the store after
``checkpoint_after_updates`` committed appends or ``checkpoint_after_idle_s``
seconds without one. A room that is its note's only writer hands over its document,
which is the log up to its last append; the store checks that the log ends
there when it writes it, and otherwise builds the checkpoint from the log's
rows (replaying them cost about 3 % of a keystroke's instructions). Sync
answers do not wait for it: it adds nothing a peer could see.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial

from collab import protocol
from collab.document import merge
from collab.errors import StorageFailed
from collab.events import NO_EVENTS, RoomEvents
from collab.peer import Peer
from collab.persistence import DocumentStore, Edit, VersionMark
from collab.replica import Change

logger = logging.getLogger("collab.pipeline")

FailureHandler = Callable[[set[Peer | None], BaseException | None], None]


@dataclass(slots=True)
class _Batch:
    """Changes applied in one loop turn, on their way to the store: an update per author."""

    committed: asyncio.Future[None]  # resolves once they are committed (or failed)
    arrived: float  # time.perf_counter() when the first of them arrived
    senders: set[Peer | None] = field(default_factory=set)  # None: the server itself
    changes: dict[str, list[Change]] = field(default_factory=dict)  # by author


class WritePipeline:
    """Appends a room's changes, broadcasts them once committed, and asks for checkpoints."""

    def __init__(
        self,
        note: int,
        store: DocumentStore,
        peers: Collection[Peer],
        *,
        on_failure: FailureHandler,
        checkpoint_after_updates: int,
        checkpoint_after_idle_s: float,
        since_checkpoint: int = 0,
        head: int = 0,
        events: RoomEvents = NO_EVENTS,
        on_committed: Callable[[list[tuple[int, bytes]]], None] | None = None,
        logged_state: Callable[[], bytes | None] | None = None,
    ) -> None:
        """Write for note ``note`` and broadcast to ``peers`` (the room's own set).

        ``since_checkpoint`` is how many logged updates the store holds after its
        latest checkpoint; ``head`` the position of the last; ``events`` hears
        how long commits and broadcasts took, and of failed writes. ``logged_state``,
        for a room that is its note's only writer, returns its document when it
        holds exactly what was loaded and written since (else None): it then
        stands for the log up to the last append, and a checkpoint hands it to the
        store instead of having the store replay the log.
        """
        self.note = note
        self.failed = False
        self.head = head  # the position of the last update committed
        self._store = store
        self._peers = peers
        self._on_failure = on_failure
        self._events = events
        self._on_committed = on_committed
        self._logged_state = logged_state
        self._appended = head  # where the log ends once every append so far is committed
        self._batch: _Batch | None = None  # applied in this loop turn, not yet appended
        self._outbox: list[tuple[set[Peer | None], bytes, float]] = []  # committed: to broadcast
        self._last_append: asyncio.Future[None] | None = None  # what sync answers wait for
        self._last_write: asyncio.Future[None] | None = None  # appends and checkpoints
        self._checkpoints = _CheckpointSchedule(
            self.checkpoint, checkpoint_after_updates, checkpoint_after_idle_s
        )
        self._checkpoints.logged(since_checkpoint)

    # -- appending -----------------------------------------------------------------------

    def write(self, sender: Peer | None, change: Change, author: str) -> None:
        """Queue a change: what one loop turn applies is appended as one update per author.

        Under load a turn handles many frames; one append (one log row, one
        future, one callback) for all of them is much of what lets a room keep up.
        ``sender`` None is the server itself (a restore): it goes to every peer.
        The batch's clock (for the commit and broadcast latencies) starts with its
        first change.
        """
        batch = self._batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._batch = _Batch(loop.create_future(), time.perf_counter())
            self._last_append = self._last_write = batch.committed
            loop.call_soon(self._flush)
        batch.senders.add(sender)
        changes = batch.changes.get(author)
        if changes is None:
            batch.changes[author] = [change]
        else:
            changes.append(change)

    def flush(self) -> None:
        """Hand what this loop turn applied to the store now."""
        self._flush()

    def write_alone(self, change: Change, author: str) -> asyncio.Future[int]:
        """Append the server's own ``change`` as a log row of its own; resolves to its position.

        A restore's change must be one row, so that its undo can find it and replay it alone.
        """
        self._flush()
        self.write(None, change, author)
        return self._flush()[0]

    def mark_version(self, kind: str, name: str | None = None) -> asyncio.Future[VersionMark]:
        """Record a version standing for every edit applied so far, once they are logged."""
        self._flush()  # the store marks the version after the appends queued before it
        return self._store.mark_version(self.note, kind, name)

    async def settled(self) -> None:
        """Wait until every append made so far is committed; raise if one failed."""
        if self._last_append is not None:
            await asyncio.wait((self._last_append,))
        if self.failed:
            raise StorageFailed("the server could not save an edit")

    async def committed(self, within_s: float) -> bool:
        """Whether every append made so far is committed, waiting up to ``within_s``.

        False if one failed, or is still waiting (a locked disk): what the room
        holds now may then never be on disk, and a reader is to read the store.
        """
        pending = self._last_append
        if pending is not None and not pending.done():
            await asyncio.wait((pending,), timeout=within_s)
            if not pending.done():
                return False
        return not self.failed

    def after_appends(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every append made so far is committed (or failed)."""
        if self._last_append is None or self._last_append.done():
            callback()
        else:
            self._last_append.add_done_callback(lambda _: callback())

    def _flush(self) -> list[asyncio.Future[int]]:
        batch, self._batch = self._batch, None
        if batch is None:
            return []  # flushed already
        edits = [_edit(author, changes) for author, changes in batch.changes.items()]
        writes = [self._store.append(self.note, edit) for edit in edits]
        self._appended += len(writes)
        update = edits[0].update if len(edits) == 1 else merge([edit.update for edit in edits])
        # The store resolves futures in order: the last one settles the batch.
        writes[-1].add_done_callback(partial(self._committed, batch, edits, update, writes))
        return writes

    def _committed(
        self,
        batch: _Batch,
        edits: list[Edit],
        update: bytes,
        writes: list[asyncio.Future[int]],
        _last: object,
    ) -> None:
        failed = [w for w in writes if w.cancelled() or w.exception() is not None]
        if failed:
            first = failed[0]
            self._events.storage_failed()
            self._fail(batch, None if first.cancelled() else first.exception())
        elif not self.failed:
            self._events.update_committed(time.perf_counter() - batch.arrived)
            self.head = max(self.head, writes[-1].result())
            if not self._outbox:
                asyncio.get_running_loop().call_soon(self._send_outbox)
            self._outbox.append((batch.senders, update, batch.arrived))
            if self._on_committed is not None:
                self._on_committed(
                    [(w.result(), edit.update) for w, edit in zip(writes, edits, strict=True)]
                )
            self._checkpoints.logged(len(writes))
        batch.committed.set_result(None)  # sync answers and save acks may go now

    def _send_outbox(self) -> None:
        """Broadcast what was committed in this loop turn, as one frame.

        The writer resolves a whole batch at once, so under load several appends
        land here together: one merged frame per peer instead of one per append.
        What came from several senders goes to everyone, senders included (what
        the reference y-websocket server always does; Yjs ignores what it has).
        """
        outbox, self._outbox = self._outbox, []
        if self.failed:
            return
        senders: set[Peer | None] = set().union(*(senders for senders, _, _ in outbox))
        frame = protocol.encode_sync_update(merge([update for _, update, _ in outbox]))
        now = time.perf_counter()
        for _, _, arrived in outbox:
            self._events.update_broadcast(now - arrived)
        exclude = senders.pop() if len(senders) == 1 else None
        for peer in self._peers:
            if peer is not exclude:
                peer.send(frame)

    def _fail(self, batch: _Batch, error: BaseException | None) -> None:
        if not self.failed:
            senders = ", ".join(
                sorted(peer.channel.label if peer else "the server" for peer in batch.senders)
            )
            logger.error(
                "could not save an update of note=%s from %s: %r",
                self.note,
                senders,
                error,
                extra={"note": self.note, "senders": senders, "error": repr(error)},
            )
        self.failed = True
        self._checkpoints.stop()
        self._on_failure(batch.senders, error)

    # -- checkpoints ---------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Ask the store for a checkpoint at the end of the note's log."""
        self._flush()  # every applied edit goes to the log first
        logged = self._checkpoints.reset()
        if self.failed or logged == 0:
            return
        state = self._logged_state() if self._logged_state is not None else None
        write = self._store.checkpoint(
            self.note, None if state is None else (state, self._appended)
        )
        self._last_write = write
        write.add_done_callback(partial(self._checkpointed, logged))

    def _checkpointed(self, logged: int, write: asyncio.Future[None]) -> None:
        error = None if write.cancelled() else write.exception()
        if error is not None:
            # The log is intact, so nothing is lost; try again with the next edits.
            self._events.storage_failed()
            logger.error(
                "checkpoint of note=%s failed, log kept: %r",
                self.note,
                error,
                extra={"note": self.note, "error": repr(error)},
            )
            self._checkpoints.logged(logged)

    async def drain(self) -> None:
        """Ask for a checkpoint, then wait until every write is committed (or failed)."""
        self.checkpoint()
        if self._last_write is not None:
            await asyncio.wait((self._last_write,))


class _CheckpointSchedule:
    """When to checkpoint: after so many logged updates, or once the note is quiet."""

    def __init__(self, checkpoint: Callable[[], None], after_updates: int, after_idle_s: float):
        self._checkpoint = checkpoint
        self._after_updates = after_updates
        self._after_idle_s = after_idle_s
        self._logged = 0  # committed appends since the last checkpoint
        self._timer: asyncio.TimerHandle | None = None
        self._quiet_since = 0.0

    def logged(self, count: int) -> None:
        """``count`` more updates are in the log; checkpoint now or when quiet."""
        if not count:
            return
        self._logged += count
        if self._logged >= self._after_updates:
            self._checkpoint()
            return
        # One timer, pushed back lazily: re-arming a timer per edit showed in profiles.
        loop = asyncio.get_running_loop()
        self._quiet_since = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self._after_idle_s, self._when_quiet)

    def reset(self) -> int:
        """A checkpoint starts: return how many logged updates it covers."""
        self.stop()
        logged, self._logged = self._logged, 0
        return logged

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _when_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        quiet_until = self._quiet_since + self._after_idle_s
        if loop.time() < quiet_until:
            self._timer = loop.call_at(quiet_until, self._when_quiet)
        else:
            self._timer = None
            self._checkpoint()


def _edit(author: str, changes: list[Change]) -> Edit:
    update = changes[0].delta if len(changes) == 1 else merge([c.delta for c in changes])
    added = sum(change.added for change in changes)
    return Edit(update, author, added, sum(change.removed for change in changes))
