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
import re
import time
from typing import NamedTuple, TypeAlias

import pycrdt
from diff_match_patch import diff_match_patch

from collab import protocol
from collab.document import TEXT_NAME
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
        self._last_reply: tuple[tuple[bytes, int], bytes] = ((b"", -1), b"")  # sync_reply's

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

    def snapshot(self) -> bytes:
        """The whole document as one update."""
        return self.doc.get_update()

    def apply(self, update: bytes, info: UpdateInfo) -> Change | None:
        """Apply a checked update; return what it changed, or None for nothing new.

        Raises:
            StaleUpdate: It re-sends part of what the document has along with new
                clocks: the peer should be asked for a fresh sync reply.
            MalformedMessage: It cannot be applied (it would be left pending, nests
                types too deep, or yrs refused it).
        """
        self._check_applicable(info)
        delta = self._apply(update, info)
        if delta is None:
            return None
        if delta is not update:  # only part of it was new: count what that part did
            info = check_update(delta, self._stored_limits)
        added = sum(end - start for _client, start, end in info.clocks)
        return Change(delta, added, info.deleted)

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

    def replace_text(
        self,
        target: str,
        *,
        timeout_s: float = 0.05,
        diffed: tuple[str, list[tuple[int, str]]] | None = None,
    ) -> Change | None:
        """Make the text ``target`` by the smallest edits, in one transaction; what changed.

        A diff (:func:`text_diff`) applied back to front, so that text a peer
        types elsewhere at the same moment merges in where it was, and cursors
        outside the changed parts stay put. Replacing the whole text instead
        would move such an edit to the top and reset every cursor. ``diffed`` is
        a diff to ``target`` computed beforehand, and the text it was computed
        from: used if the text is still that, else the diff is made again here.
        """
        current = str(self.text)
        if current == target:
            return None
        if diffed is not None and diffed[0] == current:
            diffs = diffed[1]
        else:
            diffs = text_diff(current, target, timeout_s)
        self._delta = None
        subscription = self.doc.observe(self._capture_delta)
        try:
            with self.doc.transaction():
                for at, deleted, inserted in reversed(_byte_edits(diffs)):
                    if deleted:
                        del self.text[at : at + deleted]
                    if inserted:
                        self.text.insert(at, inserted)
        finally:
            self.doc.unobserve(subscription)
        delta, self._delta = self._delta, None
        if delta is None:
            return None
        self.version += 1
        info = check_update(delta, self._stored_limits)
        self.places.check(info)  # counted like anyone's edit (never refused: its own)
        for client, _start, end in info.clocks:
            self._state[client] = max(self._state.get(client, 0), end)
        return Change(delta, _units(diffs, _INSERT), _units(diffs, _DELETE))

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
        try:
            self.doc.apply_update(update)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as error:  # yrs panics surface as pyo3's PanicException
            self._state = decode_state_vector(self.doc.get_state())  # whatever did apply
            raise MalformedMessage(f"update rejected by the CRDT: {error!r}"[:120]) from error
        # The update applied whole (check_applicable saw to it), so each client's
        # clock is now where the update ends, or where it was.
        for client, _start, end in info.clocks:
            if end > self._state.get(client, 0):
                self._state[client] = end

    def _capture_delta(self, event: pycrdt.TransactionEvent) -> None:
        self._delta = event.update


_DELETE, _EQUAL, _INSERT = -1, 0, 1  # diff-match-patch's operations


def text_diff(old: str, new: str, timeout_s: float = 0.05) -> list[tuple[int, str]]:
    """A diff from ``old`` to ``new`` at the level of words, in bounded time.

    Lines first, then words within each changed block: line by line where a
    block changed as many lines as it has (an edit in each paragraph), whole
    otherwise; the whole is bounded by ``timeout_s`` (past it, what is left is
    diffed by lines: coarser, never wrong). Words are fine enough for a
    restore: a collaborator's concurrent typing and cursors sit between them.
    Character by character, pure-Python diff-match-patch took 1.6 s on a 39 KB
    note with a word changed in every line (and 1 s then a diff replacing
    everything, on the whole text at once); stdlib difflib took 112 s on 98 KB.
    """
    differ = diff_match_patch()
    differ.Diff_Timeout = timeout_s
    deadline = time.monotonic() + timeout_s
    blocks = _token_diff(differ, old, new, _LINES)
    diffs: list[tuple[int, str]] = []
    i = 0
    while i < len(blocks):
        op, chunk = blocks[i]
        if op == _DELETE and i + 1 < len(blocks) and blocks[i + 1][0] == _INSERT:
            added = blocks[i + 1][1]
            gone, come = chunk.splitlines(keepends=True), added.splitlines(keepends=True)
            pairs = list(zip(gone, come, strict=True)) if len(gone) == len(come) else []
            for before, after in pairs or [(chunk, added)]:
                if time.monotonic() < deadline:
                    diffs += _token_diff(differ, before, after, _WORDS)
                else:  # out of time (almost every word changed): the rest line by line
                    diffs += [(_DELETE, before), (_INSERT, after)]
            i += 2
        else:
            diffs.append((op, chunk))
            i += 1
    differ.diff_cleanupMerge(diffs)
    return diffs


_LINES = re.compile(r"[^\n]*\n|[^\n]+")
_WORDS = re.compile(r"\w+|\W")


def _token_diff(
    differ: diff_match_patch, old: str, new: str, tokens: re.Pattern[str]
) -> list[tuple[int, str]]:
    """diff-match-patch over tokens (lines, words): each token one character, then back."""
    codes: dict[str, str] = {}
    names: list[str] = []

    def encode(text: str) -> str:
        out = []
        for token in tokens.findall(text):
            code = codes.get(token)
            if code is None:
                code = codes[token] = chr(len(names) + 1)  # 1..: never NUL
                names.append(token)
            out.append(code)
        return "".join(out)

    coded = differ.diff_main(encode(old), encode(new), False)
    return [(op, "".join(names[ord(code) - 1] for code in chunk)) for op, chunk in coded]


def _byte_edits(diffs: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """diff-match-patch's diffs as (offset, bytes to delete, text to insert) on the old text.

    pycrdt 0.14 indexes a Text by UTF-8 bytes, so offsets and lengths are in bytes.
    """
    edits: list[tuple[int, int, str]] = []
    at = 0
    for op, chunk in diffs:
        size = len(chunk.encode())
        if op == _EQUAL:
            at += size
        elif op == _DELETE:
            edits.append((at, size, ""))
            at += size
        elif edits and edits[-1][0] + edits[-1][1] == at and not edits[-1][2]:
            edits[-1] = (edits[-1][0], edits[-1][1], chunk)  # a replacement: delete, insert
        else:
            edits.append((at, 0, chunk))
    return edits


def _units(diffs: list[tuple[int, str]], op: int) -> int:
    """Characters as Yjs counts them (UTF-16 units) that the diffs insert or delete."""
    return sum(len(chunk.encode("utf-16-le")) // 2 for kind, chunk in diffs if kind == op)


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
