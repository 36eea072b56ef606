"""One note's room: its Yjs document, its awareness states and its peers.

The order of events for an edit is the heart of the durability promise:

1. a peer's update is checked, then applied to the room's document;
2. what it changed (the update itself when all of it is new, as a keystroke is;
   otherwise pycrdt's transaction delta, so a resent update costs nothing) is
   appended to the store, which returns a future;
3. only when that future resolves, i.e. the update is committed, is the delta
   broadcast to the other peers.

Answers to sync step 1 are held back the same way until every update they might
contain is committed. The store resolves futures in append order, so broadcasts
leave in the order the edits arrived.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

import pycrdt

from collab import awareness, protocol
from collab.awareness import AwarenessStates, Entry
from collab.channel import Channel
from collab.document import TEXT_NAME
from collab.errors import (
    ChannelClosed,
    CloseCode,
    MalformedMessage,
    PeerError,
    StorageFailed,
    TooManyMessages,
)
from collab.limits import TokenBucket
from collab.peer import Peer, Role
from collab.persistence import DocumentStore
from collab.protocol import (
    Auth,
    AwarenessUpdate,
    QueryAwareness,
    SaveMarker,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
)
from collab.yencoding import (
    DEFAULT_LIMITS,
    InvalidUpdate,
    Limits,
    StaleUpdate,
    TypeDepthTracker,
    UpdateInfo,
    check_applicable,
    check_update,
    decode_state_vector,
)

logger = logging.getLogger("collab.room")


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """Tunables of a room; the web settings document each one."""

    max_send_queue_messages: int = 1000
    max_awareness_state_bytes: int = 16 * 1024
    max_messages_per_s: float = 1000.0
    message_burst: int = 5000
    max_peers: int = 256
    compact_after_updates: int = 1000
    compact_after_idle_s: float = 30.0
    close_timeout_s: float = 5.0
    awareness_renewal_delay_s: float = 5.0
    limits: Limits = field(default_factory=lambda: DEFAULT_LIMITS)


class Room:
    """A loaded note and the peers editing it.

    Create rooms through :class:`collab.manager.RoomManager`, which guarantees
    one room per note and closes idle rooms.
    """

    def __init__(
        self,
        note: int,
        doc: pycrdt.Doc[pycrdt.Text],
        store: DocumentStore,
        config: RoomConfig | None = None,
        *,
        unsnapshotted: int = 0,
        types: TypeDepthTracker | None = None,
        on_broken: Callable[[Room], None] | None = None,
    ) -> None:
        """Open a room on a loaded document.

        Args:
            note: The note's id in the store.
            doc: The note's document, built from the store (see :func:`collab.document.build`).
            store: Where updates are appended.
            config: Tunables.
            unsnapshotted: How many logged updates the store holds after its snapshot.
            types: The nesting depths of the document's shared types (see
                :func:`track_types`); a fresh document needs none.
            on_broken: Called when a write fails and the room must be dropped.
        """
        self.note = note
        self.config = config or RoomConfig()
        self.doc = doc
        self.text = self.doc.get(TEXT_NAME, type=pycrdt.Text)
        self.awareness = AwarenessStates()
        self.types = types or TypeDepthTracker(self.config.limits)
        # The document's state vector, kept up to date instead of re-encoded per update.
        self._state: dict[int, int] = decode_state_vector(doc.get_state())
        self.broken = False
        self._store = store
        self._on_broken = on_broken
        self._peers: set[Peer] = set()
        self._delta: bytes | None = None  # what the transaction being applied changed
        self._batch: _Batch | None = None  # applied in this loop turn, not yet handed to the store
        self._outbox: list[tuple[set[Peer], bytes]] = []  # committed, to broadcast this loop turn
        self._last_append: asyncio.Future[None] | None = None  # what sync answers wait for
        self._last_write: asyncio.Future[None] | None = None  # appends and compactions
        self._unsnapshotted = unsnapshotted
        self._compact_timer: asyncio.TimerHandle | None = None
        self._renewals: dict[int, Entry] = {}  # awareness renewals waiting to be relayed
        self._renewal_timer: asyncio.TimerHandle | None = None
        self._quiet_since = 0.0
        if unsnapshotted:
            self._schedule_compaction()  # a long log loads slowly: fold it soon

    def __repr__(self) -> str:
        return f"<Room note={self.note} peers={len(self._peers)}>"

    @property
    def peer_count(self) -> int:
        return len(self._peers)

    # -- serving one connection ------------------------------------------------------

    async def serve(self, channel: Channel, role: Role = Role.EDITOR, grant: str = "") -> None:
        """Serve one peer until its channel closes or it is disconnected.

        ``grant`` is an opaque label of what admitted the peer (a link's token),
        so that revoking it can close exactly the connections it opened.
        """
        peer = Peer(channel, role, max_queue=self.config.max_send_queue_messages, grant=grant)
        self._join(peer)
        receiving = asyncio.create_task(self._receive(peer), name=f"{peer!r} receive")
        sending = asyncio.create_task(peer.run_sender(), name=f"{peer!r} send")
        closing = asyncio.create_task(peer.wait_closing(), name=f"{peer!r} closing")
        tasks = (receiving, sending, closing)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if peer.closing and not sending.done():
                # Let the sender deliver the close frame before we stop listening.
                await asyncio.wait((sending,), timeout=self.config.close_timeout_s)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await peer.force_close(self.config.close_timeout_s)
            self._leave(peer)

    def _join(self, peer: Peer) -> None:
        full = len(self._peers) >= self.config.max_peers
        self._peers.add(peer)  # even a refused peer, so that leaving is symmetric
        if self.broken:
            peer.fail(StorageFailed("this note could not be saved; reconnect to retry"))
            return
        if full:
            peer.fail(
                PeerError(
                    f"this note has its maximum of {self.config.max_peers} connections",
                    CloseCode.TOO_MANY_REQUESTS,
                )
            )
            return
        logger.info(
            "join note=%s peer=%s role=%s peers=%d",
            self.note,
            peer.channel.label,
            peer.role,
            len(self._peers),
        )
        peer.send(protocol.sync_step1(self.doc.get_state()))
        present = self.awareness.present()
        if present:  # a newcomer sees everyone at once, not after their next renewal
            peer.send(protocol.awareness(awareness.encode(present)))

    def _leave(self, peer: Peer) -> None:
        self._peers.discard(peer)
        removed = self.awareness.remove_owner(peer)
        for entry in removed:
            self._renewals.pop(entry.client_id, None)
        if removed:
            self._broadcast(protocol.awareness(awareness.encode(removed)))
        logger.info(
            "leave note=%s peer=%s peers=%d", self.note, peer.channel.label, len(self._peers)
        )

    async def _receive(self, peer: Peer) -> None:
        bucket = TokenBucket(self.config.max_messages_per_s, self.config.message_burst)
        try:
            while not peer.closing:
                frame = await peer.channel.recv()
                if not bucket.take():
                    raise TooManyMessages(
                        f"more than {self.config.max_messages_per_s:g} messages a second"
                    )
                self.handle(peer, frame)
        except ChannelClosed:
            return
        except PeerError as error:
            peer.fail(error)

    # -- dispatch --------------------------------------------------------------------

    def handle(self, peer: Peer, frame: bytes) -> None:
        """Act on one frame from ``peer``; raises PeerError for a frame it refuses."""
        if self.broken:
            return
        match protocol.parse_message(frame, self.config.limits):
            case SyncStep1(state_vector):
                self._answer_step1(peer, state_vector)
            case SyncStep2(update, info) | SyncUpdate(update, info):
                self._receive_update(peer, update, info)
            case AwarenessUpdate(payload):
                self._receive_awareness(peer, payload)
            case QueryAwareness():
                peer.send(protocol.awareness(awareness.encode(self.awareness.present())))
            case SaveMarker(marker):
                if peer.resyncing:
                    peer.held_markers.append(marker)  # until its fresh reply is in
                else:
                    self._acknowledge(peer, [marker])
            case Auth():
                logger.debug("ignoring an auth message from %s: only servers send them", peer)
            case other:
                raise RuntimeError(f"parse_message returned an unhandled message {other!r}")

    def _answer_step1(self, peer: Peer, state_vector: bytes) -> None:
        reply = protocol.sync_step2(self.doc.get_update(state_vector))
        # The reply may hold updates still on their way to disk: send it after them.
        self._after_writes(lambda: peer.send(reply))

    def _receive_update(self, peer: Peer, update: bytes, info: UpdateInfo) -> None:
        if update == protocol.EMPTY_UPDATE:
            return
        if peer.role is Role.VIEWER:
            logger.info("refused an edit from viewer %s in note=%s", peer.channel.label, self.note)
            peer.send(protocol.permission_denied("this link is view-only: edits are not saved"))
            return
        try:
            self._check_applicable(info)
        except StaleUpdate as error:
            self._ask_again(peer, str(error))
            return
        if peer.resyncing:
            peer.resyncing = False
            self._acknowledge(peer, peer.held_markers)
            peer.held_markers = []
        delta = self._apply(update, info)
        if delta is not None:  # None: nothing new, a resend
            self._write(peer, delta)

    def _ask_again(self, peer: Peer, why: str) -> None:
        """Answer a stale sync reply with a fresh step 1 instead of closing the peer.

        It happens when someone types while their client syncs: its reply to our
        step 1 then re-sends edits it already sent. Acks for its save markers
        wait until the fresh reply is in, or they would claim too much.
        """
        logger.debug("asking %s to resync note=%s: %s", peer.channel.label, self.note, why)
        peer.resyncing = True
        peer.send(protocol.sync_step1(self.doc.get_state()))

    def _acknowledge(self, peer: Peer, markers: list[int]) -> None:
        acks = [protocol.save_ack(marker) for marker in markers]

        def send() -> None:
            for ack in acks:
                peer.send(ack)

        self._after_writes(send)

    def _check_applicable(self, info: UpdateInfo) -> None:
        """Refuse what yrs would hold back as pending, or types nested too deep.

        Overlapping pending structs can crash yrs, so an update must apply
        completely now; a client missing something resyncs when it reconnects.
        """
        try:
            check_applicable(info, self._state)
            self.types.check(info)
        except StaleUpdate:
            raise  # not malformed: the caller asks the peer again
        except InvalidUpdate as error:
            raise MalformedMessage(f"update refused: {error}") from error

    def _apply(self, update: bytes, info: UpdateInfo) -> bytes | None:
        """Apply a checked update; return what it changed, or None for nothing new.

        An update whose every block starts at the document's clock (a keystroke,
        nearly always) is all new, so it is its own delta. Only for the others,
        a sync reply or a deletion that may be a re-send, is the delta taken from
        pycrdt's transaction: observing a document makes every apply encode its
        changes again, which cost more than the apply itself.
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

    def _receive_awareness(self, peer: Peer, payload: bytes) -> None:
        entries = awareness.read(payload, max_state_bytes=self.config.max_awareness_state_bytes)
        stamp = {"role": Role.VIEWER.value} if peer.role is Role.VIEWER else None
        held = {entry.client_id: self.awareness.state_of(entry.client_id) for entry in entries}
        advanced = self.awareness.apply(entries, owner=peer, stamp=stamp)
        if not advanced:
            return  # an echo of what the room holds: stock clients echo every update
        changes = []
        for entry in advanced:
            if entry.state is not None and entry.state == held[entry.client_id]:
                self._delay_renewal(entry)
            else:
                self._renewals.pop(entry.client_id, None)
                changes.append(entry)
        if changes:
            self._broadcast(protocol.awareness(awareness.encode(changes)), exclude=peer)
        if not self.awareness.has_others(peer):
            # No one else is present to renew anything, so the sender gets its own
            # entries back (with its own clocks, which stock clients ignore): a
            # client that hears nothing for 30 s drops its connection.
            ids = {entry.client_id for entry in advanced}
            own = [entry for entry in entries if entry.client_id in ids]
            peer.send(protocol.awareness(awareness.encode(own)))

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
            self._renewal_timer = loop.call_later(
                self.config.awareness_renewal_delay_s, self._relay_renewals
            )

    def _relay_renewals(self) -> None:
        self._renewal_timer = None
        renewals = [entry for entry in self._renewals.values() if self.awareness.holds(entry)]
        self._renewals = {}
        owners = {self.awareness.owner_of(entry.client_id) for entry in renewals}
        everyone = protocol.awareness(awareness.encode(renewals))
        for peer in self._peers:
            if peer not in owners:
                peer.send(everyone)
                continue
            # A client must not get its own entry with the room's clock for it.
            others = [
                entry for entry in renewals if self.awareness.owner_of(entry.client_id) is not peer
            ]
            if others:
                peer.send(protocol.awareness(awareness.encode(others)))

    # -- after a write ---------------------------------------------------------------

    def _write(self, sender: Peer, delta: bytes) -> None:
        """Queue a delta for the store: what one loop turn applies is appended as one update.

        Under load a turn handles many frames; one append (one log row, one
        future, one callback) for all of them is much of what lets a room keep up.
        """
        batch = self._batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._batch = _Batch(loop.create_future())
            self._last_append = self._last_write = batch.committed
            loop.call_soon(self._flush)
        batch.senders.add(sender)
        batch.deltas.append(delta)

    def _flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return  # a compaction flushed it already
        update = _merge(batch.deltas)
        write = self._store.append(self.note, update)
        write.add_done_callback(partial(self._committed, batch, update))

    def _committed(self, batch: _Batch, update: bytes, write: asyncio.Future[None]) -> None:
        if write.cancelled() or write.exception() is not None:
            self._break(batch, write)
        else:
            if not self._outbox:
                asyncio.get_running_loop().call_soon(self._send_outbox)
            self._outbox.append((batch.senders, update))
            self._unsnapshotted += 1
            self._schedule_compaction()
        batch.committed.set_result(None)  # sync answers and save acks may go now

    def _send_outbox(self) -> None:
        """Broadcast what was committed in this loop turn, as one frame.

        The writer resolves a whole batch at once, so under load several appends
        land here together: one merged frame per peer instead of one per append.
        What came from several senders goes to everyone, senders included (what
        the reference y-websocket server always does; Yjs ignores what it has).
        """
        outbox, self._outbox = self._outbox, []
        senders = set().union(*(senders for senders, _ in outbox))
        update = _merge([update for _, update in outbox])
        self._broadcast(
            protocol.sync_update(update), exclude=senders.pop() if len(senders) == 1 else None
        )

    def _break(self, batch: _Batch, write: asyncio.Future[None]) -> None:
        """A write failed: the document in memory now holds an edit that is not on disk.

        No one may see that edit, so every peer of this room is disconnected
        (their clients reconnect and resend their state) and the room is dropped,
        to be loaded afresh from what the store really holds.
        """
        error = None if write.cancelled() else write.exception()
        if not self.broken:
            senders = ", ".join(sorted(peer.channel.label for peer in batch.senders))
            logger.error(
                "could not save an update of note=%s from %s; closing the room: %r",
                self.note,
                senders,
                error,
            )
        self.broken = True
        self._cancel_compaction()
        for peer in self._peers:
            peer.fail(StorageFailed("the server could not save an edit; reconnect to retry"))
        if self._on_broken is not None:
            self._on_broken(self)

    def _broadcast(self, frame: bytes, exclude: Peer | None = None) -> None:
        for peer in self._peers:
            if peer is not exclude:
                peer.send(frame)

    def _after_writes(self, callback: Callable[[], None]) -> None:
        # Compactions add nothing a peer could see, so only appends are waited for:
        # the first client of a note with a long log need not wait for its compaction.
        if self._last_append is None or self._last_append.done():
            callback()
        else:
            self._last_append.add_done_callback(lambda _: callback())

    # -- compaction and closing ------------------------------------------------------

    def _schedule_compaction(self) -> None:
        if self._unsnapshotted >= self.config.compact_after_updates:
            self.compact()
            return
        # One timer, pushed back lazily: re-arming a timer per edit showed in profiles.
        loop = asyncio.get_running_loop()
        self._quiet_since = loop.time()
        if self._compact_timer is None:
            self._compact_timer = loop.call_later(
                self.config.compact_after_idle_s, self._compact_when_quiet
            )

    def _compact_when_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        quiet_until = self._quiet_since + self.config.compact_after_idle_s
        if loop.time() < quiet_until:
            self._compact_timer = loop.call_at(quiet_until, self._compact_when_quiet)
        else:
            self._compact_timer = None
            self.compact()

    def _cancel_compaction(self) -> None:
        if self._compact_timer is not None:
            self._compact_timer.cancel()
            self._compact_timer = None

    def compact(self) -> None:
        """Replace the note's update log by one snapshot of the document."""
        self._flush()  # the snapshot holds every applied edit: log them first
        self._cancel_compaction()
        if self.broken or self._unsnapshotted == 0:
            return
        logged, self._unsnapshotted = self._unsnapshotted, 0
        write = self._store.compact(self.note, self.doc.get_update())
        self._last_write = write
        write.add_done_callback(partial(self._compacted, logged))

    def _compacted(self, logged: int, write: asyncio.Future[None]) -> None:
        error = None if write.cancelled() else write.exception()
        if error is not None:
            # The log is intact, so nothing is lost; try again with the next edits.
            logger.error("compaction of note=%s failed, log kept: %r", self.note, error)
            self._unsnapshotted += logged

    def disconnect_all(self, code: CloseCode, reason: str, *, grant: str | None = None) -> None:
        """Close every peer's connection, or only those admitted by ``grant``."""
        for peer in self._peers:
            if grant is None or peer.grant == grant:
                peer.close(code, reason)

    async def close(self) -> None:
        """Compact, then wait until every write of this room is committed."""
        if self._renewal_timer is not None:
            self._renewal_timer.cancel()
            self._renewal_timer = None
        self.compact()
        if self._last_write is not None:
            await asyncio.wait((self._last_write,))

    def peers(self) -> Iterable[Peer]:
        """The peers now in the room."""
        return tuple(self._peers)

    def present_awareness(self) -> list[Entry]:
        """The awareness entries of everyone present."""
        return self.awareness.present()


@dataclass(slots=True)
class _Batch:
    """Deltas applied in one loop turn, on their way to the store as one update."""

    committed: asyncio.Future[None]  # resolves once they are committed (or failed)
    senders: set[Peer] = field(default_factory=set)
    deltas: list[bytes] = field(default_factory=list)


def _merge(updates: list[bytes]) -> bytes:
    return updates[0] if len(updates) == 1 else pycrdt.merge_updates(*updates)


def track_types(doc: pycrdt.Doc[pycrdt.Text], limits: Limits = DEFAULT_LIMITS) -> TypeDepthTracker:
    """A depth tracker seeded with a loaded document's shared types.

    Stored content was checked when it arrived; if it is somehow beyond today's
    limits, the note still opens (and new nesting stays bounded by the deepest).
    """
    tracker = TypeDepthTracker(limits)
    try:
        tracker.check(check_update(doc.get_update(), limits))
    except InvalidUpdate as error:
        logger.warning("a stored document is beyond the update limits: %s", error)
    return tracker
