"""Presence: who is in a room, where their cursor is, what they are called.

The room keeps every peer's awareness state itself instead of relaying raw
frames. Each incoming entry is decoded with a bounded decoder and kept only if
its clock advanced; only then is its state parsed and validated (a JSON object
under a size limit, or ``null`` for "gone"). What the room broadcasts is
re-encoded from that state and lists only the entries that advanced: an echo
of a state the room already holds goes nowhere, which is what stops the echo
storm of relaying servers (each stock client answers every awareness frame it
is sent). Renewals (same state, newer clock) are relayed a few seconds late,
several in one frame (see ``PresenceRelay._delay_renewal``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from collab.errors import MalformedMessage
from collab.names import BadName, clean_name
from collab.protocol import Reader, write_varuint


@dataclass(frozen=True, slots=True)
class Entry:
    """One client's awareness state at one clock; ``state`` is JSON text or None."""

    client_id: int
    clock: int
    state: str | None


def decode(payload: bytes, *, max_state_bytes: int) -> list[Entry]:
    """Decode and validate an awareness update.

    Raises:
        MalformedMessage: A bad count, integer, string, or a state that is not a
            JSON object (or ``null``) of at most ``max_state_bytes``.
    """
    return [
        Entry(entry.client_id, entry.clock, canonical_state(entry.state))
        for entry in read(payload, max_state_bytes=max_state_bytes)
    ]


def read(payload: bytes, *, max_state_bytes: int) -> list[Entry]:
    """Decode an awareness update, leaving each state as the JSON text it was sent as.

    The framing, client ids and sizes are checked; the JSON is not, so that a
    room can drop echoes and old clocks (most of what stock clients send) without
    parsing them. :meth:`AwarenessStates.apply` validates what it keeps.

    Raises:
        MalformedMessage: A bad count, integer, string, or a state over ``max_state_bytes``.
    """
    reader = Reader(payload)
    count = reader.varuint()
    if count > reader.remaining // 3:  # an entry takes at least three bytes
        raise MalformedMessage(f"awareness update claims {count} entries in {len(payload)} bytes")
    entries = [_read_entry(reader, max_state_bytes) for _ in range(count)]
    reader.end()
    return entries


def _read_entry(reader: Reader, max_state_bytes: int) -> Entry:
    client_id, clock = reader.varuint(), reader.varuint()  # both below 2**53, as Yjs's ids
    text = reader.string()
    if len(text) > max_state_bytes:
        raise MalformedMessage(f"awareness state of {len(text)} bytes exceeds {max_state_bytes}")
    return Entry(client_id, clock, None if text in ("", "null") else text)


def user_name(state: str) -> str | None:
    """The ``user.name`` of a validated state (what our app and y-codemirror.next set),
    cleaned as every name that reaches the history is (:func:`collab.names.clean_name`);
    None when it has none, or nothing of it is left."""
    try:
        user = json.loads(state).get("user")
    except (ValueError, AttributeError):
        return None
    name = user.get("name") if isinstance(user, dict) else None
    if not isinstance(name, str):
        return None
    try:
        return clean_name(name) or None
    except BadName:  # canonical_state refuses such a state before it is kept
        return None


def canonical_state(text: str | None) -> str | None:
    """A state's JSON text in one canonical form; None stays None (removal).

    Raises:
        MalformedMessage: The text is not JSON, or not an object or ``null``, or it
            holds a lone surrogate (not Unicode text: it cannot be sent on as UTF-8).
    """
    if text is None:
        return None
    try:
        state = json.loads(text) if text else None
    except (ValueError, RecursionError) as error:
        raise MalformedMessage("awareness state is not JSON") from error
    if state is None:
        return None
    if not isinstance(state, dict):
        raise MalformedMessage("awareness state is not a JSON object")
    canonical = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
    if not canonical.isascii():
        try:
            canonical.encode()
        except UnicodeEncodeError as error:  # a "\ud800" escape: relaying it raised later
            raise MalformedMessage("awareness state holds a lone surrogate") from error
    return canonical


def _with_fields(state: str, fields: dict[str, str]) -> str:
    return json.dumps(json.loads(state) | fields, separators=(",", ":"), ensure_ascii=False)


def encode(entries: Iterable[Entry]) -> bytes:
    """Encode entries as an awareness update, the way y-protocols does."""
    listed = list(entries)
    parts = [write_varuint(len(listed))]
    for entry in listed:
        state = (entry.state if entry.state is not None else "null").encode()
        parts += [write_varuint(entry.client_id), write_varuint(entry.clock)]
        parts += [write_varuint(len(state)), state]
    return b"".join(parts)


class AwarenessStates:
    """The awareness states of one room, and which connection owns each client id.

    A client id belongs to the first connection that sets it; other connections
    cannot overwrite or remove it, so one peer cannot move another's cursor. Once
    its owner removes the state (a stock client does so as it disconnects), the
    id is free again, so a reconnecting client is seen at once, even if its old
    socket has not finished closing.

    Clocks relayed to the other peers may run ahead of the client's own: peers
    remember the clock of a removal, and a client that reconnects after one
    announces itself with its old clock, which they would ignore until its next
    renewal (15 s or more). So the room keeps the last clock it relayed for each
    client id and shifts a returning client's clocks past it.

    A stock client also keeps the clocks of the others when its own socket
    drops, so when it returns the room advances everyone else's clock for it
    (:meth:`advance_others`). And a room knows nothing of the clocks relayed
    before it was opened (a server restart): clocks it relays start at
    ``clock_base``, by default the time in milliseconds, which no earlier room
    for the same note can have reached (a client's clock moves by one per
    change, far less than once a millisecond).
    """

    def __init__(self, clock_base: int | None = None) -> None:
        self._base = time.time_ns() // 1_000_000 if clock_base is None else clock_base
        self._entries: dict[int, Entry] = {}  # as relayed to others
        self._owners: dict[int, object] = {}
        self._own_clock: dict[int, int] = {}  # the client's own clock, to spot echoes
        self._offset: dict[int, int] = {}
        self._last_relayed: dict[int, int] = {}  # kept after removal, for returning clients
        self._changed_at: dict[int, float] = {}  # time.monotonic() its state last changed

    def __len__(self) -> int:
        return len(self.present())

    def present(self) -> list[Entry]:
        """Every entry whose state is set, with the clocks peers know."""
        return [entry for entry in self._entries.values() if entry.state is not None]

    def changed_within(self, seconds: float) -> list[int]:
        """The present clients whose state changed in the last ``seconds`` (renewals aside).

        A y-codemirror client's state holds its cursor, so these are the people typing.
        """
        since = time.monotonic() - seconds
        return [
            entry.client_id
            for entry in self.present()
            if self._changed_at.get(entry.client_id, -1.0) >= since
        ]

    def state_of(self, client_id: int) -> str | None:
        """The state held for a client id, None when it has none."""
        held = self._entries.get(client_id)
        return None if held is None else held.state

    def owner_of(self, client_id: int) -> object | None:
        """The connection that set a client id, if any."""
        return self._owners.get(client_id)

    def latest(self, client_id: int) -> Entry | None:
        """The entry held for a client id (as relayed), None once it is forgotten."""
        return self._entries.get(client_id)

    def holds(self, entry: Entry) -> bool:
        """Whether ``entry`` (as relayed) is still the latest for its client id."""
        return self._entries.get(entry.client_id) == entry

    def has_others(self, owner: object) -> bool:
        """Whether anyone but ``owner`` has a state set."""
        return any(
            entry.state is not None and self._owners.get(cid) is not owner
            for cid, entry in self._entries.items()
        )

    def states(self) -> dict[int, str]:
        """Client id to JSON state, for every present client."""
        return {entry.client_id: entry.state for entry in self.present() if entry.state}

    def apply(
        self,
        entries: Iterable[Entry],
        owner: object,
        stamp: dict[str, str] | None = None,
        *,
        takes_from: Callable[[object], bool] | None = None,
    ) -> list[Entry]:
        """Record what ``owner`` sent; return what advanced, as it is to be relayed.

        An entry advances when its clock is newer than the one held, or when it
        removes a present state at the same clock (as y-protocols does). Anything
        else (an echo, an old clock, another connection's client id) is dropped
        unread. The state of an entry that advances is validated and made
        canonical (see :func:`canonical_state`), then the fields of ``stamp`` are
        set in it: the server's word, which the client cannot override.

        ``takes_from(holder)`` says whether ``owner`` may take a present client id
        from its holder (another process's peers, when the client moved there).

        Raises:
            MalformedMessage: An advancing state is not a JSON object or null.
        """
        return [
            relayed
            for entry in entries
            if (relayed := self._accept(entry, owner, stamp, takes_from))
        ]

    def _accept(
        self,
        entry: Entry,
        owner: object,
        stamp: dict[str, str] | None,
        takes_from: Callable[[object], bool] | None,
    ) -> Entry | None:
        cid = entry.client_id
        held = self._entries.get(cid)
        holder = self._owners.setdefault(cid, owner)
        if holder is not owner:
            present = held is not None and held.state is not None
            if present and not (takes_from is not None and takes_from(holder)):
                return None  # someone else's present state
            self._owners[cid] = owner  # released by its owner: a reconnecting client
            self._own_clock.pop(cid, None)
        own = self._own_clock.get(cid)
        newer = own is None or entry.clock > own
        removes = entry.clock == own and entry.state is None and held is not None
        if not (newer or (removes and held is not None and held.state is not None)):
            return None
        state = canonical_state(entry.state)
        if stamp and state is not None:
            state = _with_fields(state, stamp)
        if own is None:  # first word from this connection: start past what peers saw
            floor = max(self._base, self._last_relayed.get(cid, -1) + 1)
            self._offset[cid] = max(0, floor - entry.clock)
        if held is None or held.state != state:  # not a renewal: its cursor moved, say
            self._changed_at[cid] = time.monotonic()
        self._own_clock[cid] = entry.clock
        relayed = Entry(cid, entry.clock + self._offset[cid], state)
        self._entries[cid] = relayed
        self._last_relayed[cid] = relayed.clock
        return relayed

    def returning(self, entries: Iterable[Entry], owner: object) -> bool:
        """Whether ``owner`` brings back a client id whose state this room relayed and removed.

        That is a client reconnecting, and a stock one still holds the clocks it
        last saw for everyone else: see :meth:`advance_others`.
        """
        for entry in entries:
            held = self._entries.get(entry.client_id)
            gone = held is None or held.state is None
            known = entry.client_id in self._last_relayed
            if (
                entry.state is not None
                and known
                and gone
                and self._owners.get(entry.client_id) is not owner
            ):
                return True
        return False

    def advance_others(self, owner: object) -> list[Entry]:
        """Advance by one the clock of every present state not set by ``owner``; return them.

        Sent to a returning client, which would ignore the states at the clocks
        it already saw. Clocks only move forward, so the others simply see the
        next relayed clock one higher than they would have.
        """
        advanced = [
            Entry(cid, entry.clock + 1, entry.state)
            for cid, entry in self._entries.items()
            if entry.state is not None and self._owners.get(cid) is not owner
        ]
        for entry in advanced:
            self._offset[entry.client_id] += 1
            self._entries[entry.client_id] = entry
            self._last_relayed[entry.client_id] = entry.clock
        return advanced

    def remove_owner(self, owner: object) -> list[Entry]:
        """Forget every client id ``owner`` set; return the removals to broadcast."""
        removed = []
        for cid in [cid for cid, who in self._owners.items() if who is owner]:
            del self._owners[cid]
            self._own_clock.pop(cid, None)
            self._offset.pop(cid, None)
            self._changed_at.pop(cid, None)
            held = self._entries.pop(cid)
            if held.state is not None:
                removed.append(Entry(cid, held.clock + 1, None))
                self._last_relayed[cid] = held.clock + 1
        return removed
