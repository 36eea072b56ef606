"""A peer's edit frames on their way into a note: refused, applied at once, or in slices.

A viewer's edits are refused by their first bytes. A keystroke, or any small
edit, is checked and applied at once. A large one (a first sync after a long
time offline, a find-and-replace over thousands of lines) is checked and
applied a slice of a few milliseconds at a time, in pieces that are each an edit
of their own (:mod:`collab.sliced`). Whatever an edit costs the room to check
and apply is charged to its sender's apply budget; a sender past it is closed
with 1013, and its client's reconnect sends what was not applied yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from collab import protocol
from collab.document import EMPTY_UPDATE
from collab.errors import EditsTooCostly, MalformedMessage, StorageFailed
from collab.inbox import Later
from collab.peer import Peer, PeerState
from collab.pipeline import WritePipeline
from collab.replica import Change, Replica
from collab.sliced import Lane, apply
from collab.yencoding import InvalidUpdate, Limits, StaleUpdate, UpdateInfo

logger = logging.getLogger("collab.room")

LARGE_FRAME_BYTES = 1024
"""An edit frame longer than this is checked and applied a slice at a time."""
LARGE_STRUCTS = 64
"""So is a shorter one that holds more structs and delete ranges than this."""
EDIT_FRAMES = (bytes([0, 1]), bytes([0, 2]))
"""How a sync step 2 and a sync update frame begin."""
NO_EDITS = (protocol.encode_sync_step2(EMPTY_UPDATE), protocol.encode_sync_update(EMPTY_UPDATE))
"""Edit frames that carry nothing: a viewer's client sends them too."""
_VIEW_ONLY = protocol.encode_permission_denied("this link is view-only: edits are not saved")


class Edits:
    """What a room does with its peers' edits, up to handing them to its pipeline."""

    def __init__(
        self,
        note: int,
        replica: Replica,
        pipeline: WritePipeline,
        limits: Limits,
        lane: Lane,
        broken: Callable[[], bool],
    ) -> None:
        self.note = note
        self.replica = replica
        self.pipeline = pipeline
        self._limits = limits
        self._lane = lane
        self._broken = broken

    def refuse_viewer(self, peer: Peer) -> None:
        """Tell a viewer its edit is not saved; nothing of the edit was read."""
        logger.info(
            "refused an edit from viewer %s in note=%s",
            peer.channel.label,
            self.note,
            extra={"note": self.note, "peer": peer.channel.label, "role": peer.role.value},
        )
        peer.send(_VIEW_ONLY)

    def receive(
        self, peer: Peer, frame: bytes, update: bytes, info: UpdateInfo, *, reply: bool
    ) -> Later | None:
        """Apply an edit (``reply``: a sync step 2, the answer to a step 1) and write it."""
        if update == EMPTY_UPDATE:
            if reply:
                self.acknowledge(peer, peer.resynced())
            return None
        # A keystroke's cost is bounded by its shape: only other updates meet the budget.
        change = self.replica.apply_keystroke(update, info)
        if change is None:
            if info.struct_count + info.delete_range_count > LARGE_STRUCTS:
                return self.receive_large(peer, frame)  # yrs may take long: in pieces
            started = time.perf_counter()
            try:
                change = self.replica.apply_other(update, info)
            except StaleUpdate as error:
                self._charge(peer, time.perf_counter() - started)
                if reply or peer.state is not PeerState.RESYNCING:
                    self.ask_again(peer, str(error))
                return None  # (while resyncing: the fresh reply on its way holds this edit too)
            spent = time.perf_counter() - started
            if change is not None:  # None: nothing new, a resend. Applied, so logged: always.
                self.pipeline.write(peer, change, peer.author)
            self._charge(peer, spent)  # after the write: what was applied is logged
        else:
            self.pipeline.write(peer, change, peer.author)
        if reply:  # after the write: its acks wait for the reply's edits to be committed
            self.acknowledge(peer, peer.resynced())
        return None

    async def receive_large(self, peer: Peer, frame: bytes) -> None:
        """:meth:`receive` a slice at a time, each charged to the peer (collab/sliced.py)."""
        reply, update = protocol.edit_payload(frame)
        charge = partial(self._charge, peer)
        write = partial(self._write_piece, peer)
        try:
            await apply(update, self._limits, self.replica, write, self._lane, charge)
        except StaleUpdate as error:
            if reply or peer.state is not PeerState.RESYNCING:
                self.ask_again(peer, str(error))
            return
        except InvalidUpdate as error:
            raise MalformedMessage(f"invalid Yjs payload: {error}") from error
        if reply:
            self.acknowledge(peer, peer.resynced())

    def _write_piece(self, peer: Peer, change: Change) -> None:
        if self._broken():  # a write failed: the room is being dropped
            raise StorageFailed("the server could not save an edit; reconnect to retry")
        self.pipeline.write(peer, change, peer.author)

    @staticmethod
    def _charge(peer: Peer, seconds: float) -> None:
        # Bounds what edits no limit foresaw may cost everyone else: honest ones take
        # microseconds (a 4,000-line find-and-replace, a few hundred milliseconds once).
        if not peer.apply_budget.charge(seconds):
            raise EditsTooCostly(
                "your edits take the server too long to apply; reconnect to send the rest"
            )

    def ask_again(self, peer: Peer, why: str) -> None:
        """Answer an edit the document cannot take now with a fresh step 1, not a close.

        It happens when someone types while their client syncs (its reply to our
        step 1 then re-sends edits it already sent), and when a client types
        before it has sent its offline edits (a stock client sends those only in
        answer to our step 1). The answer to the fresh step 1 holds whatever was
        dropped. Acks for save markers wait until it is in, or they would claim
        too much.
        """
        logger.debug("asking %s to resync note=%s: %s", peer.channel.label, self.note, why)
        peer.resync()
        peer.send(protocol.encode_sync_step1(self.replica.state_vector()))

    def acknowledge(self, peer: Peer, markers: list[int]) -> None:
        if not markers:
            return
        acks = [protocol.encode_save_ack(marker) for marker in markers]

        def send() -> None:
            for ack in acks:
                peer.send(ack)

        self.pipeline.after_appends(send)
