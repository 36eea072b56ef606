"""One note's room: serve its peers and dispatch what they send.

A room owns three parts, each in its own module, and wires them to its peers:

* the :class:`~collab.replica.Replica`, its document: checked applies;
* the :class:`~collab.pipeline.WritePipeline`: append, commit, then broadcast
  (the durability order is explained there);
* the :class:`~collab.presence.PresenceRelay`: awareness states.

What happens to one edit: :meth:`Room.handle` parses the frame (the pre-parser
has checked its bytes), the replica applies it and returns what changed, the
pipeline appends that, and once it is committed broadcasts it to the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from functools import partial

import pycrdt

from collab import protocol
from collab.awareness import Entry
from collab.channel import Channel
from collab.config import RoomConfig
from collab.edits import EDIT_FRAMES, LARGE_FRAME_BYTES, NO_EDITS, Edits
from collab.errors import (
    CloseCode,
    PeerError,
    StorageFailed,
)
from collab.events import NO_EVENTS, RoomEvents
from collab.fanout import NO_FANOUT, Fanout
from collab.inbox import Inbox, Later
from collab.logsync import LogSync, spawner
from collab.peer import Peer, Role
from collab.persistence import DocumentStore
from collab.pipeline import WritePipeline
from collab.presence import PresenceRelay
from collab.protocol import (
    Auth,
    AwarenessUpdate,
    NoticeSubscribe,
    QueryAwareness,
    SaveMarker,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
)
from collab.ratelimit import TokenBucket
from collab.remote import LocalSide, RemoteSide, Side
from collab.replica import Replica, Trackers
from collab.sliced import Lane

logger = logging.getLogger("collab.room")


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
        since_checkpoint: int = 0,
        head: int = 0,
        trackers: Trackers | None = None,
        on_broken: Callable[[Room], None] | None = None,
        events: RoomEvents = NO_EVENTS,
        fanout: Fanout = NO_FANOUT,
        lane: Lane | None = None,
    ) -> None:
        """Open a room on ``doc``, note ``note``'s document as built from ``store``.

        ``since_checkpoint`` is how many logged updates the store holds after its
        latest checkpoint, ``head`` the position of the last; ``trackers`` the
        document's type depths and insertion places (see
        :func:`collab.replica.track`); ``on_broken`` is called when a write fails
        and the room must be dropped; ``events`` hears what its writes do;
        ``fanout`` carries its commits and presence to other processes; ``lane``
        is where large updates take turns (one per process: see collab/sliced.py).
        """
        # Over 40 lines: the wiring of the room's parts, which must be read together.
        self.note = note
        self.config = config = config or RoomConfig()
        self.replica = Replica(doc, config.limits, trackers)
        self._peers: set[Peer] = set()
        self._on_broken = on_broken
        self._tasks: set[asyncio.Task[None]] = set()  # catch-up reads
        self.presence = PresenceRelay(
            self._peers,
            max_state_bytes=config.max_awareness_state_bytes,
            renewal_delay_s=config.awareness_renewal_delay_s,
            publish=partial(fanout.presence, note),
        )
        self.store = store
        self.own_clients: set[int] = set()  # the server's (restores, undos): nobody types
        remote = self._side(fanout, store, head, events)
        self.remote: Side = remote
        # One process: nobody to tell, and the log's positions are the pipeline's own.
        linked = remote.committed if isinstance(remote, RemoteSide) else None
        self.pipeline = WritePipeline(
            note,
            store,
            self._peers,
            on_failure=self._break,
            checkpoint_after_updates=config.checkpoint_after_updates,
            checkpoint_after_idle_s=config.checkpoint_after_idle_s,
            since_checkpoint=since_checkpoint,
            head=head,
            events=events,
            on_committed=linked,
            logged_state=None if linked is not None else self.replica.logged_state,
        )
        self.edits = Edits(
            note, self.replica, self.pipeline, config.limits, lane or Lane(), lambda: self.broken
        )

    def _side(self, fanout: Fanout, store: DocumentStore, head: int, events: RoomEvents) -> Side:
        """The room's side toward other processes: a null one when no other serves the note."""
        if not fanout.clustered:
            return LocalSide(self._peers, lambda: self.pipeline.head)

        async def catch_up() -> None:  # then tell the notices that waited for what it read
            await log.catch_up_or_wait()
            side.release_notices()

        log = LogSync(
            self.note,
            store,
            self.replica,
            self._peers,
            head,
            spawner(self._tasks, catch_up),
            events,
        )
        side = RemoteSide(
            self.note, self._peers, log, self.presence, fanout, lambda: self.broken, self._tell
        )
        return side

    def __repr__(self) -> str:
        return f"<Room note={self.note} peers={len(self._peers)}>"

    @property
    def doc(self) -> pycrdt.Doc[pycrdt.Text]:
        return self.replica.doc

    @property
    def text(self) -> pycrdt.Text:
        return self.replica.text

    @property
    def broken(self) -> bool:
        """True once a write failed: the room refuses everything until it is dropped."""
        return self.pipeline.failed

    @property
    def peer_count(self) -> int:
        """Peers in the note's room, in every process serving it."""
        return self.remote.peer_count()

    def peers(self) -> Iterable[Peer]:
        """The peers now in the room."""
        return tuple(self._peers)

    def present_awareness(self) -> list[Entry]:
        """The awareness entries of everyone present."""
        return self.presence.present()

    # -- serving one connection ------------------------------------------------------

    async def serve(
        self, channel: Channel, role: Role = Role.EDITOR, admitted_by: str = ""
    ) -> None:
        """Serve one peer until its channel closes or it is disconnected.

        ``admitted_by`` is an opaque label of what admitted the peer (a link's
        token), so that revoking it can close exactly the connections it opened.
        """
        peer = Peer(
            channel, role, max_queue=self.config.max_send_queue_messages, admitted_by=admitted_by
        )
        peer.apply_budget = TokenBucket(self.config.apply_budget_per_s, self.config.apply_budget_s)
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
            self.peer_count,
            extra={
                "note": self.note,
                "peer": peer.channel.label,
                "role": peer.role.value,
                "peers": self.peer_count,
            },
        )
        peer.send(protocol.encode_sync_step1(self.replica.state_vector()))
        self.presence.greet(peer)
        self.remote.peers_changed()

    def _leave(self, peer: Peer) -> None:
        self._peers.discard(peer)
        self.presence.leave(peer)
        self.remote.peers_changed()
        code = peer.close_frame[0] if peer.close_frame else CloseCode.NORMAL  # NORMAL: it left
        logger.info(
            "leave note=%s peer=%s peers=%d",
            self.note,
            peer.channel.label,
            self.peer_count,
            extra={
                "note": self.note,
                "peer": peer.channel.label,
                "peers": self.peer_count,
                "code": int(code),
            },
        )

    async def _receive(self, peer: Peer) -> None:
        limit, burst = self.config.max_messages_per_s, self.config.message_burst
        await Inbox(peer, self.handle, limit, burst).run()

    # -- dispatch --------------------------------------------------------------------

    def handle(self, peer: Peer, frame: bytes) -> Later | None:
        """Act on one frame from ``peer``; raises PeerError for a frame it refuses.

        A large edit is handled over several loop turns, by the coroutine
        returned. A viewer's (or commenter's) edit frames are refused by their first bytes,
        before anything of them is read.
        """
        if self.broken:
            return None
        edits = self.edits
        if peer.role is not Role.EDITOR and frame[:2] in EDIT_FRAMES and frame not in NO_EDITS:
            edits.refuse_viewer(peer)
            return None
        if len(frame) > LARGE_FRAME_BYTES and frame[:2] in EDIT_FRAMES:
            return edits.receive_large(peer, frame)
        match protocol.parse_message(frame, self.config.limits):
            case SyncStep1(state_vector):
                self._answer_step1(peer, state_vector)
            case SyncStep2(update, info):
                return edits.receive(peer, frame, update, info, reply=True)
            case SyncUpdate(update, info):
                return edits.receive(peer, frame, update, info, reply=False)
            case AwarenessUpdate(payload):
                self.presence.receive(peer, payload)
            case QueryAwareness():
                self.presence.answer_query(peer)
            case SaveMarker(marker):
                if not peer.hold_marker(marker):  # held while a fresh sync reply is awaited
                    edits.acknowledge(peer, [marker])
            case NoticeSubscribe():
                peer.notices = True
            case Auth():
                logger.debug("ignoring an auth message from %s: only servers send them", peer)
            case other:
                raise RuntimeError(f"parse_message returned an unhandled message {other!r}")
        return None

    def _answer_step1(self, peer: Peer, state_vector: bytes) -> None:
        reply = self.replica.sync_reply(state_vector)
        # The reply may hold updates still on their way to disk: send it after them.
        self.pipeline.after_appends(lambda: peer.send(reply))

    # -- notices ----------------------------------------------------------------------

    def notify(self, notice: str) -> None:
        """Tell every peer that asked for notices (JSON text), after the edits made so far.

        Sent once every append made so far is committed and broadcast: a
        notice of a restore reaches each peer after the restore's own edit. The
        note's peers on other processes hear it too, after that edit, best
        effort (see :meth:`collab.remote.RemoteSide.notified`).
        """

        def send() -> None:
            self._tell(notice)
            self.remote.notified(notice)

        self.pipeline.after_appends(send)

    def _tell(self, notice: str) -> None:
        """Send ``notice`` to the peers here that asked for notices."""
        frame = protocol.encode_notice(notice)
        for peer in self._peers:
            if peer.notices:
                peer.send(frame)

    # -- failure and closing -------------------------------------------------------------

    def _break(self, senders: set[Peer | None], error: BaseException | None) -> None:
        """A write failed: the document in memory now holds an edit that is not on disk.

        No one may see that edit, so every peer of this room is disconnected
        (their clients reconnect and resend their state) and the room is dropped,
        to be loaded afresh from what the store really holds.
        """
        for peer in self._peers:
            peer.fail(StorageFailed("the server could not save an edit; reconnect to retry"))
        if self._on_broken is not None:
            self._on_broken(self)

    def disconnect_all(
        self, code: CloseCode, reason: str, *, admitted_by: str | None = None
    ) -> None:
        """Close every peer's connection, or only those admitted by ``admitted_by``."""
        for peer in self._peers:
            if admitted_by is None or peer.admitted_by == admitted_by:
                peer.close(code, reason)

    async def close(self) -> None:
        """Ask for a checkpoint, then wait until every write of this room is committed."""
        self.presence.close()
        for task in list(self._tasks):
            task.cancel()
        await self.pipeline.drain()
