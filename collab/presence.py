"""The awareness relay of one room: who is present, and where their cursors are.

The room hands every awareness frame here. What a peer sends is decoded and
kept in :class:`~collab.awareness.AwarenessStates` (which drops echoes and
validates what it keeps); changes go to everyone else at once, renewals a few
seconds later, batched. A newcomer is shown everyone present as it joins, and
a leaving peer's entries are removed for the others.

When other processes serve the same note, what this process's peers change is
also handed to ``publish``, and what the others' peers change arrives through
:meth:`PresenceRelay.remote`, owned by one :class:`RemoteOwner` per process, so
a process that stops takes exactly its own peers' entries with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from collab import awareness, protocol
from collab.awareness import AwarenessStates, Entry
from collab.errors import MalformedMessage
from collab.peer import Peer, Role
from collab.persistence import ANONYMOUS

logger = logging.getLogger("collab.presence")

_VIEWER_STAMP = {"role": Role.VIEWER.value}


def _is_remote(owner: object) -> bool:
    return isinstance(owner, RemoteOwner)


class RemoteOwner:
    """The peers of one other process, as the owner of the client ids they set."""

    __slots__ = ("origin",)

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def __repr__(self) -> str:
        return f"<RemoteOwner {self.origin}>"


class PresenceRelay:
    """Relays the awareness states of one room's peers to each other."""

    def __init__(
        self,
        peers: Collection[Peer],
        *,
        max_state_bytes: int,
        renewal_delay_s: float,
        publish: Callable[[bytes], None] = lambda payload: None,
    ) -> None:
        """Relay among ``peers``: the room's own set, which the room keeps current.

        ``publish`` hears what this process's peers changed (an encoded awareness
        update), for the same note's rooms in other processes.
        """
        self.states = AwarenessStates()
        self._peers = peers
        self._publish = publish
        self._remotes: dict[str, RemoteOwner] = {}
        self._max_state_bytes = max_state_bytes
        self._renewal_delay_s = renewal_delay_s
        self._renewals: dict[int, Entry] = {}  # renewals waiting to be relayed
        self._renewal_timer: asyncio.TimerHandle | None = None
        self._changes: dict[int, Peer | None] = {}  # client ids to relay this turn, by whom
        self._changes_handle: asyncio.Handle | None = None

    def present(self) -> list[Entry]:
        """The entries of everyone present."""
        return self.states.present()

    def greet(self, peer: Peer) -> None:
        """Show a newcomer everyone present at once, not after their next renewal."""
        present = self.states.present()
        if present:
            peer.send(protocol.encode_awareness(awareness.encode(present)))

    def answer_query(self, peer: Peer) -> None:
        """Answer a query-awareness message with every state held."""
        peer.send(protocol.encode_awareness(awareness.encode(self.states.present())))

    def leave(self, peer: Peer) -> None:
        """Remove what ``peer`` set, for everyone else."""
        removed = self._remove(peer)
        if removed:
            self._publish(awareness.encode(removed))

    def remote(self, origin: str, payload: bytes) -> None:
        """Take an awareness update another process's peers made, and relay it here."""
        try:
            entries = awareness.read(payload, max_state_bytes=self._max_state_bytes)
        except MalformedMessage as error:  # a process of another version, or a bug
            logger.warning("dropped presence from %s: %s", origin, error)
            return
        owner = self._remotes.get(origin)
        if owner is None:
            owner = self._remotes[origin] = RemoteOwner(origin)
        held = {entry.client_id: self.states.state_of(entry.client_id) for entry in entries}
        # A client that moved from a process to this one's sender takes its id along.
        advanced = self.states.apply(entries, owner=owner, takes_from=_is_remote)
        self._relay(advanced, held, exclude=None)

    def gone(self, origin: str) -> None:
        """Another process stopped: remove its peers' entries here."""
        owner = self._remotes.pop(origin, None)
        if owner is not None:
            self._remove(owner)

    def local_payload(self) -> bytes | None:
        """The entries this process's own peers set, encoded; None if there are none."""
        local = [
            entry
            for entry in self.states.present()
            if not isinstance(self.states.owner_of(entry.client_id), RemoteOwner)
        ]
        return awareness.encode(local) if local else None

    def _remove(self, owner: object) -> list[Entry]:
        removed = self.states.remove_owner(owner)
        for entry in removed:
            self._renewals.pop(entry.client_id, None)
        if removed:
            self._send_all(protocol.encode_awareness(awareness.encode(removed)))
        return removed

    def receive(self, peer: Peer, payload: bytes) -> None:
        """Take an awareness update from ``peer``; raises MalformedMessage if it is bad."""
        entries = awareness.read(payload, max_state_bytes=self._max_state_bytes)
        stamp = _VIEWER_STAMP if peer.role is not Role.EDITOR else None  # commenters too
        held = {entry.client_id: self.states.state_of(entry.client_id) for entry in entries}
        returning = self.states.returning(entries, owner=peer)
        advanced = self.states.apply(entries, owner=peer, stamp=stamp)
        if not advanced:
            return  # an echo of what the room holds: stock clients echo every update
        for entry in advanced:
            if entry.state is not None:  # the name the history gives this peer's edits
                peer.author = awareness.user_name(entry.state) or ANONYMOUS
        if returning and (others := self.states.advance_others(peer)):
            # It ignores the others at the clocks it saw before its socket dropped.
            peer.send(protocol.encode_awareness(awareness.encode(others)))
        changes = self._relay(advanced, held, exclude=peer)
        if changes:
            self._publish(awareness.encode(changes))
        if not self.states.has_others(peer):
            # No one else is present to renew anything, so the sender gets its own
            # entries back (with its own clocks, which stock clients ignore): a
            # client that hears nothing for 30 s drops its connection.
            ids = {entry.client_id for entry in advanced}
            own = [entry for entry in entries if entry.client_id in ids]
            peer.send(protocol.encode_awareness(awareness.encode(own)))

    def _relay(
        self, advanced: list[Entry], held: dict[int, str | None], exclude: Peer | None
    ) -> list[Entry]:
        """Send changes to everyone but ``exclude`` now, renewals later; return the changes."""
        changes = []
        for entry in advanced:
            if entry.state is not None and entry.state == held[entry.client_id]:
                self._delay_renewal(entry)
            else:
                self._renewals.pop(entry.client_id, None)
                changes.append(entry)
        if changes:
            self._queue_changes(changes, source=exclude)
        return changes

    def _queue_changes(self, changes: list[Entry], source: Peer | None) -> None:
        """Relay changes at the end of this loop turn, with the others made in it.

        Stock clients send their state as they connect, and echo every update
        they get: fifty opening a note at once made fifty relays to up to
        forty-nine peers, and as many echoes back. The changes of one loop turn
        go out in one frame per peer instead: the time until all fifty were
        synced went from 303 to 260 ms on a new note and from 484 to 398 ms on
        a 1 MB one (bench/, medians of 5, 2026-11-27; the server's CPU time in
        the new-note storm stayed at 160 ms). A cursor move waits for nothing
        but the rest of the loop turn.
        """
        if not self._changes:
            self._changes_handle = asyncio.get_running_loop().call_soon(self._relay_changes)
        for entry in changes:
            self._changes[entry.client_id] = source

    def _relay_changes(self) -> None:
        self._changes_handle = None
        # Each client id's latest entry: a renewal after a change in the same turn
        # carries the change; a removal was sent already (and its entry forgotten).
        changes = [
            (entry, src)
            for cid, src in self._changes.items()
            if (entry := self.states.latest(cid)) is not None
        ]
        self._changes = {}
        if not changes:
            return
        sources = {src for _entry, src in changes}
        everyone = protocol.encode_awareness(awareness.encode([e for e, _src in changes]))
        for peer in self._peers:
            if peer not in sources:
                peer.send(everyone)
                continue
            # A client does not get its own change back.
            others = [entry for entry, src in changes if src is not peer]
            if others:
                peer.send(protocol.encode_awareness(awareness.encode(others)))

    def close(self) -> None:
        """Stop the renewal timer and the relay of queued changes; the room is closing."""
        if self._renewal_timer is not None:
            self._renewal_timer.cancel()
            self._renewal_timer = None
        if self._changes_handle is not None:
            self._changes_handle.cancel()
            self._changes_handle = None
            self._changes = {}

    def _delay_renewal(self, entry: Entry) -> None:
        """Hold a renewal (same state, newer clock) to relay it with others.

        Stock clients renew their state every 15 s and drop a remote state not
        renewed for 30 s, so a renewal can wait a few seconds; the renewals of
        a room then go out together, in one frame per peer instead of one per
        renewal, and each client echoes one frame instead of several.
        """
        self._renewals[entry.client_id] = entry
        if self._renewal_timer is None:
            loop = asyncio.get_running_loop()
            self._renewal_timer = loop.call_later(self._renewal_delay_s, self._relay_renewals)

    def _relay_renewals(self) -> None:
        self._renewal_timer = None
        renewals = [entry for entry in self._renewals.values() if self.states.holds(entry)]
        self._renewals = {}
        owners = {self.states.owner_of(entry.client_id) for entry in renewals}
        local = [
            e for e in renewals if not isinstance(self.states.owner_of(e.client_id), RemoteOwner)
        ]
        if local:  # the other processes' clients drop a state not renewed for 30 s
            self._publish(awareness.encode(local))
        everyone = protocol.encode_awareness(awareness.encode(renewals))
        for peer in self._peers:
            if peer not in owners:
                peer.send(everyone)
                continue
            # A client must not get its own entry with the room's clock for it.
            others = [e for e in renewals if self.states.owner_of(e.client_id) is not peer]
            if others:
                peer.send(protocol.encode_awareness(awareness.encode(others)))

    def _send_all(self, frame: bytes, exclude: Peer | None = None) -> None:
        for peer in self._peers:
            if peer is not exclude:
                peer.send(frame)
