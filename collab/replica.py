"""A note's document as its room holds it: checked applies and a current state vector.

Every update a peer sends has passed the pre-parser (:mod:`collab.yencoding`)
by the time it gets here; the replica then refuses what the document cannot
take in whole right now (it would be held back as "pending", which can crash
yrs), applies the rest, and says what the apply changed, which is what the
room stores and broadcasts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import ChainMap
from collections.abc import Mapping
from typing import NamedTuple, TypeAlias

import pycrdt

from collab import protocol
from collab.document import APART_BYTES, TEXT_NAME
from collab.errors import MalformedMessage
from collab.yencoding import (
    DEFAULT_LIMITS,
    InvalidUpdate,
    Limits,
    PlaceCounter,
    StaleUpdate,
    TypeDepthTracker,
    UpdateInfo,
    check_applicable,
    check_update,
    decode_state_vector,
)

logger = logging.getLogger("collab.replica")


class Change(NamedTuple):
    """What an applied update changed: the delta to store and broadcast, and its size."""

    delta: bytes
    added: int  # clocks (for text, UTF-16 units) it inserted
    removed: int  # clocks its deletions cover


class Replica:
    """The room's ``Doc``, the state vector it has, and the nesting bound of its types."""

    def __init__(
        self,
        doc: pycrdt.Doc[pycrdt.Text],
        limits: Limits = DEFAULT_LIMITS,
        trackers: Trackers | None = None,
    ) -> None:
        """Hold ``doc``; ``trackers`` are its own (see :func:`track`) if it has content."""
        self.doc = doc
        self.text = doc.get(TEXT_NAME, type=pycrdt.Text)
        self.types, self.places = trackers or (TypeDepthTracker(limits), PlaceCounter(limits))
        self._max_clients = limits.max_note_clients
        self.stored_limits = self._stored_limits = limits.for_stored()
        # The state vector, kept up to date instead of re-encoded per update.
        self._state: dict[int, int] = decode_state_vector(doc.get_state())
        self._delta: bytes | None = None  # what the transaction being applied changed
        self.version = 0  # advanced by every change of the document, to key what is derived
        self.unlogged = False  # see logged_state
        # What the document would encode to, at most (about): see logged_state.
        self._weight = len(self.text)
        self._last_reply: tuple[tuple[bytes, int], bytes] = ((b"", -1), b"")  # sync_reply's

    def clocks(self) -> dict[int, int]:
        """A copy of the document's state vector: each client's next clock."""
        return dict(self._state)

    def state_vector(self) -> bytes:
        """The document's encoded state vector (what a sync step 1 sends)."""
        return self.doc.get_state()

    def missing_from(self, state_vector: bytes) -> bytes:
        """What a peer with ``state_vector`` lacks, as one update (a sync step 2)."""
        return self.doc.get_update(state_vector)

    def sync_reply(self, state_vector: bytes) -> bytes:
        """The sync step 2 frame answering ``state_vector``, encoded once per version.

        When fifty clients open a note at once they all send the same state
        vector (an empty one, for new clients), and the document does not change
        between them: encoding the reply once instead of fifty times took the
        server CPU of the join storm from 240 to 160 ms on a 1 MB note and from
        300 to 190 ms on a 30k-struct history (bench/, medians of 3,
        2026-11-27). The same bytes object also lets the transport frame it once.
        """
        key = (state_vector, self.version)
        if self._last_reply[0] != key:
            reply = protocol.encode_sync_step2(self.missing_from(state_vector))
            self._last_reply = (key, reply)
        return self._last_reply[1]

    def logged_state(self) -> bytes | None:
        """The whole document as one update, or None when it is not to be encoded here.

        None once yrs failed part-way through an update: what it applied of it
        is in the document and in no log, so the document no longer stands for
        its note's log. None too for a large document: encoding it holds the
        event loop (pycrdt holds the GIL; 20-40 ms for a 2 MB note, 520 ms for
        900,000 one-character items), so the store builds it from the log in a
        process of its own instead (see ``collab.document.encode``). What is large
        is judged by the text's length plus the bytes applied since the document
        was last encoded here (an item costs more to encode than its character).
        """
        if self.unlogged or self._weight > APART_BYTES:
            return None
        state = self.doc.get_update()
        self._weight = len(state)
        return state

    def apply(self, update: bytes, info: UpdateInfo) -> Change | None:
        """Apply a checked update; return what it changed, or None for nothing new.

        Raises:
            StaleUpdate: It re-sends part of what the document has along with new
                clocks: the peer should be asked for a fresh sync reply.
            MalformedMessage: It cannot be applied (it would be left pending, nests
                types too deep, or yrs refused it).
        """
        change = self.apply_keystroke(update, info)
        return change if change is not None else self.apply_other(update, info)

    def apply_other(self, update: bytes, info: UpdateInfo) -> Change | None:
        """:meth:`apply` for an update :meth:`apply_keystroke` did not take."""
        self._check_applicable(info)
        delta = self._apply(update, info)
        if delta is None:
            return None
        if delta is not update:  # only part of it was new: count what that part did
            info = check_update(delta, self._stored_limits)
        added = sum(end - start for _client, start, end in info.clocks)
        return Change(delta, added, info.deleted)

    def apply_keystroke(self, update: bytes, info: UpdateInfo) -> Change | None:
        """Apply a keystroke, or anything shaped like one; None (nothing done) otherwise.

        One block of a client the document knows, starting at the document's
        clock for it, with no skips, shared types or deletions, and referring
        only to clocks the document or the block holds: nothing can be left
        pending or re-sent, no client is new, no type nested, so of the checks
        of the general path only the places' count is left. Spelled out here
        because nearly every update is one: the general path cost a keystroke
        10 us more (30 against 20 us through a room, bench/README.md). Anything
        else goes the general way, which names its fault.
        """
        clocks = info.clocks
        if len(clocks) != 1 or info.holes or info.type_items or info.delete_range_count:
            return None
        ((client, start, end),) = clocks
        state = self._state
        if state.get(client, -1) != start:  # a new client, a gap or a re-send
            return None
        for other, clock in info.references:
            if clock > (end if other == client else state.get(other, 0)):
                return None
        # Typing on: one item right after its author's previous one. Only one item can
        # ever be that at a place (ids are unique), so leaving it out of the count
        # lets at most one item more into a place (see PlaceCounter): 4k instructions
        # a keystroke saved, a tenth of the wave's cost on this path.
        places = info.places
        if places and (info.struct_count != 1 or places[0][0] != (client, start - 1)):
            try:
                self.places.check(info)
            except InvalidUpdate as error:
                raise MalformedMessage(f"update refused: {error}") from error
        self._integrate(update, info)
        return Change(update, end - start, info.deleted)

    def ready(self, info: UpdateInfo, ahead: dict[int, int] | None = None) -> bool:
        """Whether nothing of an update would be left pending if applied now.

        ``ahead`` holds clocks the document will have by then (a run of pieces
        applied before it). A block that re-sends what the document has counts
        as ready: applying it says so (see :meth:`apply`).
        """
        state: Mapping[int, int] = self._state if ahead is None else ChainMap(ahead, self._state)
        try:
            check_applicable(info, state, allow_overlap=True)
        except StaleUpdate:
            return False
        return True

    def _check_applicable(self, info: UpdateInfo) -> None:
        """Refuse what yrs would hold back as pending, or what would cost it too much.

        Overlapping pending structs can crash yrs, so an update must apply
        completely now; a client missing something resyncs when it reconnects.
        Types nested too deep, too many clients in the note and too many items
        at one place are refused too (see :class:`~collab.yencoding.Limits`).
        """
        try:
            check_applicable(info, self._state)
            self._check_clients(info)
            self.types.check(info)
            if any(end > self._state.get(client, 0) for client, _start, end in info.clocks):
                self.places.check(info)  # only what is new: a re-send inserts nothing
        except StaleUpdate:
            raise  # not malformed: the caller asks the peer again
        except InvalidUpdate as error:
            raise MalformedMessage(f"update refused: {error}") from error

    def apply_committed(self, update: bytes, info: UpdateInfo) -> Change | None:
        """Apply an update another process committed to the note's log; what was new.

        It passed that process's checks, and it is in the log: only what keeps
        yrs safe is checked again (nothing may be left pending), not the limits
        on what an edit may cost, or the document could never hold the log.
        """
        try:
            check_applicable(info, self._state)
        except InvalidUpdate as error:
            raise MalformedMessage(f"logged update not applicable yet: {error}") from error
        delta = self._apply(update, info)
        if delta is None:
            return None
        if delta is not update:
            info = check_update(delta, self._stored_limits)
        added = sum(end - start for _client, start, end in info.clocks)
        return Change(delta, added, info.deleted)

    def apply_own(self, update: bytes, info: UpdateInfo, added: int, removed: int) -> Change | None:
        """Apply an edit the server made itself (a restore, made on a fork: see collab/restore.py).

        ``info`` is what :func:`~collab.yencoding.check_update` says of it, and
        ``added`` and ``removed`` the characters it inserts and deletes.
        """
        delta = self._apply(update, info)
        if delta is None:
            return None
        self.places.check(info)  # counted like anyone's edit (never refused: its own)
        return Change(delta, added, removed)

    def _check_clients(self, info: UpdateInfo) -> None:
        state = self._state
        new = sum(1 for client, _start, _end in info.clocks if client not in state)
        if new and len(state) + new > self._max_clients:
            raise InvalidUpdate(
                f"this note has edits of {len(state)} clients; it takes at most {self._max_clients}"
            )

    def _apply(self, update: bytes, info: UpdateInfo) -> bytes | None:
        """Apply; an update all of whose blocks start at the document's clock is its own delta.

        That is a keystroke, nearly always. Only for the others, a sync reply or
        a deletion that may be a re-send, is the delta taken from pycrdt's
        transaction: observing a document makes every apply encode its changes
        again, which cost more than the apply itself.
        """
        state = self._state
        if info.struct_count and all(
            start == state.get(client, 0) for client, start, _end in info.clocks
        ):
            self._integrate(update, info)
            return update
        self._delta = None
        subscription = self.doc.observe(self._capture_delta)
        try:
            self._integrate(update, info)
        finally:
            self.doc.unobserve(subscription)
        delta, self._delta = self._delta, None
        return delta

    def _integrate(self, update: bytes, info: UpdateInfo) -> None:
        self.version += 1  # even if yrs fails part-way: whatever did apply is a change
        self._weight += len(update)
        try:
            self.doc.apply_update(update)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as error:  # yrs panics surface as pyo3's PanicException
            self._state = decode_state_vector(self.doc.get_state())  # whatever did apply
            self.unlogged = True
            raise MalformedMessage(f"update rejected by the CRDT: {error!r}"[:120]) from error
        # The update applied whole (check_applicable saw to it), so each client's
        # clock is now where the update ends, or where it was.
        for client, _start, end in info.clocks:
            if end > self._state.get(client, 0):
                self._state[client] = end

    def _capture_delta(self, event: pycrdt.TransactionEvent) -> None:
        self._delta = event.update


Trackers: TypeAlias = tuple[TypeDepthTracker, PlaceCounter]


def track(doc: pycrdt.Doc[pycrdt.Text], limits: Limits = DEFAULT_LIMITS) -> Trackers:
    """Trackers seeded with a loaded document's shared types and insertion places.

    Stored content was checked when it arrived; if it is somehow beyond today's
    limits, the note still opens (and new edits stay bounded by what it holds).
    """
    types, places = TypeDepthTracker(limits), PlaceCounter(limits)
    try:
        info = check_update(doc.get_update(), limits.for_stored())
    except InvalidUpdate as error:
        logger.warning("a stored document is beyond the update limits: %s", error)
        return types, places
    for tracker in (types, places):
        try:
            tracker.check(info)
        except InvalidUpdate as error:
            logger.warning("a stored document is beyond the update limits: %s", error)
    return types, places
