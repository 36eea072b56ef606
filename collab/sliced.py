"""Large updates, checked and applied a slice of a few milliseconds at a time.

Checking an update costs about 4 us a struct in Python and applying one can
cost yrs far more (an insert that splits a long string copies it), and pycrdt
holds the GIL while it applies (a thread does not help: 900,000 structs held
the loop for 670 ms from one). So an update that is not small is read by
:class:`~collab.yencoding.pieces.PieceReader` and applied as its pieces, both
in slices of :data:`SLICE_S`, and between slices the event loop serves
everyone else. One :class:`Lane` per process lets one slice run per loop turn,
however many peers send large updates at once, so another note waits for one
slice at most. Each slice is charged to the sender's apply budget.

Each applied piece is an edit of its own (logged, committed, then broadcast),
so what a peer sees in between is a prefix of the update, never a broken one;
and a peer closed for its budget half-way keeps what was applied: its
reconnect's sync sends the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from collab.replica import Change, Replica
from collab.yencoding import AheadUpdate, Limits, UpdateInfo
from collab.yencoding.pieces import PIECE_STRUCTS, Piece, PieceReader, join

SLICE_S = 0.002
"""How long one slice may hold the event loop (one piece may run past it)."""

READ_AHEAD = 16_384
"""Structs and delete ranges read ahead of what is applied, before a burst of applying."""
_MOST_JOINED = 128  # pieces joined into one apply at most: 2,048 structs

Charge = Callable[[float], None]
"""Charges the sender's budget so many seconds of CPU; raises when it is spent."""


class Lane:
    """One slice at a time across a process's rooms (FIFO: each waiting job in turn)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def slice(self, work: Callable[[float], bool], charge: Charge) -> bool:
        """Run ``work(deadline)`` in this lane's next turn; what it returned.

        The lane is held until the loop has run once more, so that every other
        callback ready meanwhile (another note's frames) runs before the next slice.
        """
        async with self._lock:
            cpu = time.thread_time()  # charged: what the work cost, not what others took
            try:
                done = work(time.perf_counter() + SLICE_S)
            finally:
                charge(time.thread_time() - cpu)
            await asyncio.sleep(0)
        return done


async def apply(
    update: bytes,
    limits: Limits,
    replica: Replica,
    write: Callable[[Change], None],
    lane: Lane,
    charge: Charge,
) -> None:
    """Check ``update`` and apply it, a slice at a time; each applied piece to ``write``.

    Pieces are applied in bursts of :data:`READ_AHEAD` structs or ranges read ahead:
    a large update is never held whole in Python objects (900,000 structs' worth
    made the garbage collector stop the loop for 120 ms), and a burst is a few
    edits, not one a slice (an attacker's 1,000 small edits set off a checkpoint,
    which encodes the whole document on the loop).

    Raises:
        InvalidUpdate: As check_update (what was applied before the fault stays).
        StaleUpdate, MalformedMessage: As :meth:`Replica.apply_other`.
    """
    reader = PieceReader(update, limits)
    applier = Applier(update, replica)
    draining = False  # applying what was read ahead, until none is left that can go

    def work(deadline: float) -> bool:
        nonlocal draining
        while not draining and not reader.done and time.perf_counter() < deadline:
            reader.step()
            applier.add(reader.pieces)
            reader.pieces.clear()
            draining = applier.pending >= READ_AHEAD
        if not (draining or reader.done):
            return False
        before = applier.pending
        done = applier.apply(deadline, write, last=reader.done)
        draining = applier.pending > 0 and applier.pending < before
        return done and reader.done

    while not await lane.slice(work, charge):
        pass


class Applier:
    """Applies a read update's pieces to a replica, in an order where each can apply.

    A client's pieces go in clock order; pieces of different clients go as soon
    as what they refer to is in the document (a piece may refer to a client read
    after it). Consecutive pieces of one client are joined while a slice has
    time for them, by what the last ones cost.
    """

    def __init__(self, data: bytes, replica: Replica) -> None:
        self._data = data
        self._replica = replica
        self._queues: dict[int, deque[Piece]] = {}
        self._deletions: deque[Piece] = deque()
        self._per_struct = 0.0  # seconds a struct cost to apply, lately (see apply)
        self.pending = 0  # structs and delete ranges added and not yet applied

    def add(self, pieces: list[Piece]) -> None:
        """Pieces just read, to apply once they can."""
        for piece in pieces:
            self.pending += piece.size
            if piece.deletes:
                self._deletions.append(piece)
            else:
                self._queues.setdefault(piece.client, deque()).append(piece)

    def apply(self, deadline: float, write: Callable[[Change], None], *, last: bool) -> bool:
        """Apply what can be until ``deadline``; True once all is (``last``: all was read).

        Raises:
            AheadUpdate: Everything is read and what is left cannot apply: the update
                needs what the document lacks.
            StaleUpdate, MalformedMessage: As :meth:`Replica.apply_other`.
        """
        while self._queues or self._deletions:
            taken = self._next(deadline - time.perf_counter())
            if taken is None:
                if last:
                    raise AheadUpdate("update refers to clocks the document lacks")
                return False
            update, info = taken
            self.pending -= info.struct_count + info.delete_range_count
            started = time.perf_counter()
            change = self._replica.apply_other(update, info)
            if info.struct_count:
                # What a struct costs yrs varies a hundredfold within one update (a
                # split of a long string copies it): the estimate falls by half an
                # apply at most, so one cheap piece does not join the next 128
                # dear ones (an apply of 100-640 ms on a 4,000-line find-and-replace).
                cost = (time.perf_counter() - started) / info.struct_count
                self._per_struct = max(cost, self._per_struct / 2)
            if change is not None:
                write(change)
            if time.perf_counter() > deadline:
                return False
        return True

    def _next(self, left_s: float) -> tuple[bytes, UpdateInfo] | None:
        for client, queue in self._queues.items():
            if self._replica.ready(queue[0].info):
                return self._take(client, queue, left_s)
        if self._deletions and self._replica.ready(self._deletions[0].info):
            return join(self._data, [self._deletions.popleft()])
        return None

    def _take(self, client: int, queue: deque[Piece], left_s: float) -> tuple[bytes, UpdateInfo]:
        per_piece = self._per_struct * PIECE_STRUCTS  # 0 until one was measured: one piece
        wanted = int(min(left_s / per_piece, _MOST_JOINED)) if per_piece > 0 else 1
        run = [queue.popleft()]
        while queue and len(run) < max(1, wanted):
            end = run[-1].info.clocks[0][2]  # the run holds the client's clocks up to here
            if not self._replica.ready(queue[0].info, {client: end}):
                break
            run.append(queue.popleft())
        if not queue:
            del self._queues[client]
        return join(self._data, run)
