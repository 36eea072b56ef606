"""Restoring a version and undoing a restore, in a note's room, keeping everyone's words.

**A restore** makes the note's text a version's by the smallest edits
(:mod:`collab.textdiff`), as one log row of its own, except where someone is
typing at that moment: of the run each person who typed in the last
:data:`LIVE_TYPING_S` seconds has been typing (their items chained one after
the other up to their latest), the line it ends on is left whole where it is.
Who typed is read from the note's log (:func:`typing_now`), so it is the same
for a peer of another process and for someone who has just left.
What they type next, before their page hears of the restore, goes on right
after it, as Yjs places it there. Deleting it would cut their sentence in two:
the part typed before the restore gone, the rest carrying on wherever their
cursor lands.

**Undo restore** inverts the restore's own change and nothing else: the restore
is replayed on a copy of the note as it stood just before it, under a Yjs undo
manager that tracks that one transaction; everything the room holds now is then
merged in untracked, and the undo manager's undo gives the inverse as a new
change: the text the restore deleted comes back next to the neighbours it had,
the text it inserted goes wherever it still is, and whatever anyone typed since
stays, inside the restored text too. Making the text the before-restore version
again instead would delete every word written since the restore.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import pycrdt

from collab.document import TEXT_NAME
from collab.errors import StorageFailed
from collab.persistence import ANONYMOUS, VersionMark
from collab.restore import edit_apart
from collab.yencoding import DEFAULT_LIMITS, check_update, decode_state_vector

if TYPE_CHECKING:
    from collab.room import Room

logger = logging.getLogger("collab.restoring")

LIVE_TYPING_S = 10.0
"""Someone whose edit was committed this recently is typing now: a restore leaves their
run whole, whether they are connected here, to another process, or left a moment ago."""

_RESTORE = "restore"  # the origin of the replayed restore, which the undo manager tracks


class Restored(NamedTuple):
    """What a restore did."""

    before: VersionMark  # the before-restore version
    position: int | None  # the restore's own log row; None when it changed nothing
    kept: int  # characters typed at that moment that it left in place


class Undone(NamedTuple):
    """What undoing a restore did."""

    changed: bool  # False: nothing of the restore was left to undo
    kept_inside: bool  # someone wrote inside the restored text since: their words stay


# -- who is typing ------------------------------------------------------------------------


async def typing_now(room: Room, author: str, within_s: float = LIVE_TYPING_S) -> list[int]:
    """The clients that inserted something in the last ``within_s`` seconds, but ``author``'s.

    Read from the note's log, which holds every process's commits with their
    time and author: a peer connected to another process counts as one of this
    process does, and so does someone who typed and then left (closed the tab)
    within the window, whose line a restore must spare as much. Call it once
    everything the restore starts from is committed. Left out: the server's own
    clients here (:attr:`Room.own_clients`: restores and undos) and the
    restorer's, by name; a restore or undo another process made, or one this
    room made before it was reloaded, looks like typing to this: the last line
    of its text is kept, never a word lost.
    """
    if within_s <= 0:
        return []
    rows = await room.store.recent_log(room.note, within_s)
    writers = await asyncio.to_thread(_writers, rows, author)
    return sorted(
        client
        for client in writers
        if client not in room.own_clients and not _restorers(room, client, author)
    )


def _writers(rows: Sequence[tuple[str, bytes]], author: str) -> set[int]:
    """The clients that inserted something in ``rows`` ((author, update)), but ``author``'s."""
    found: set[int] = set()
    theirs: set[int] = set()  # the restorer's own pages (a name, not Anonymous)
    for by, update in rows:
        info = check_update(update, DEFAULT_LIMITS.for_stored())
        clients = {client for client, start, end in info.clocks if end > start}
        (theirs if by == author and author != ANONYMOUS else found).update(clients)
    return found - theirs


# -- undoing a restore ------------------------------------------------------------------


def undo_change(
    before: Iterable[bytes], after: Iterable[bytes], now: bytes, clients: Collection[int]
) -> tuple[bytes | None, bool]:
    """The change that inverts a restore alone, and whether someone wrote inside its text.

    ``before`` are the updates of the note just before the restore's own log
    row, ``after`` those just after it (so they differ by that row alone), and
    ``now`` the note's whole document as it is now, which holds both; its
    ``clients`` are the ids that wrote in it. The change comes from a client id
    not among them, like any peer's (None: nothing is left to undo).
    CPU-bound (it builds the document twice): call it off the event loop.
    """
    client = random.randrange(1, 1 << 52)
    while client in clients:
        client = random.randrange(1, 1 << 52)
    copy: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc(client_id=client)
    for update in before:
        copy.apply_update(update)
    text = copy.get(TEXT_NAME, type=pycrdt.Text)
    undo = pycrdt.UndoManager(scopes=[text], capture_timeout_millis=0)
    undo.include_origin(_RESTORE)
    at_restore = decode_state_vector(copy.get_state())
    with copy.transaction(origin=_RESTORE):
        for update in after:
            copy.apply_update(update)
    restored = copy.get_state()
    inserted = {
        c: (at_restore.get(c, 0), clock)
        for c, clock in decode_state_vector(restored).items()
        if clock > at_restore.get(c, 0)
    }
    copy.apply_update(now)
    kept_inside = _placed_in(copy.get_update(restored), inserted)
    changes: list[bytes] = []
    subscription = copy.observe(lambda event: changes.append(event.update))
    try:
        undo.undo()
    finally:
        copy.unobserve(subscription)
    return (changes[0] if changes else None), kept_inside


def _placed_in(update: bytes, inserted: dict[int, tuple[int, int]]) -> bool:
    """Whether ``update`` places an item right after one of the ``inserted`` items."""
    info = check_update(update, DEFAULT_LIMITS.for_stored())
    for place, _count in info.places:
        if isinstance(place, tuple) and place[0] in inserted:
            start, end = inserted[place[0]]
            if start <= place[1] < end:
                return True
    return False


# -- in the room --------------------------------------------------------------------------


async def restore(
    room: Room, text: str, author: str, *, live_typing_s: float = LIVE_TYPING_S
) -> Restored:
    """Make the note's text ``text`` as one log row, but for what is being typed.

    The edit is made on a fork of the document as it stands, in a process of
    its own (collab/restore.py), sparing the line each person typing now is
    typing (collab/liveruns.py): nothing of it runs on the event loop. What
    anyone types meanwhile is not in the fork, so the edit cannot delete it: it
    merges in where it was typed. In the durability order: the "before restore"
    version is recorded (after every edit applied so far), then the edit is
    applied, committed as a row of its own, and only then broadcast. A crash
    leaves the note either untouched or restored. ``live_typing_s``: who typed
    that recently is typing now (0: nobody is).
    """
    if room.broken:
        raise StorageFailed("this note could not be saved; try again")
    await room.remote.settle()  # other processes may write too: diff from the latest
    base, base_text = room.replica.doc.get_update(), str(room.replica.text)
    await room.pipeline.settled()  # everything in ``base`` is in the log: who typed it, when
    typing = await typing_now(room, author, live_typing_s)
    edit = await edit_apart(base, base_text, text, room.replica.stored_limits, typing)
    # Queued before the restore's own edits, so the store marks the state before them.
    marking = room.pipeline.mark_version("before-restore")
    change = None
    if edit is not None:
        room.own_clients.update(client for client, _start, _end in edit.info.clocks)
        change = room.replica.apply_own(edit.update, edit.info, edit.added, edit.removed)
    appended = None if change is None else room.pipeline.write_alone(change, author)
    logger.info("applied a restore of note=%s; committing it", room.note, extra={"note": room.note})
    before = await marking
    await room.pipeline.settled()
    kept = 0 if edit is None else edit.kept
    logger.info(
        "restored note=%s to a version of %d characters, %d typed meanwhile kept",
        room.note,
        len(text),
        kept,
        extra={"note": room.note, "kept": kept},
    )
    return Restored(before, None if appended is None else appended.result(), kept)


def _restorers(room: Room, client: int, author: str) -> bool:
    """Whether ``client`` is the one restoring (a named person's own page): not concurrent."""
    owner = room.presence.states.owner_of(client)
    return author != ANONYMOUS and getattr(owner, "author", None) == author


async def undo(room: Room, before: Sequence[bytes], after: Sequence[bytes], author: str) -> Undone:
    """Apply the inverse of a restore (see :func:`undo_change`) as ``author``'s edit."""
    if room.broken:
        raise StorageFailed("this note could not be saved; try again")
    await room.remote.settle()  # the copy must hold nothing the room lacks
    now, clients = room.doc.get_update(), room.replica.clocks().keys()
    update, kept_inside = await asyncio.to_thread(undo_change, before, after, now, clients)
    if update is None:
        return Undone(False, kept_inside)
    # Made from a copy of the room's document: everything it refers to is in the room.
    info = check_update(update, DEFAULT_LIMITS.for_stored())
    room.own_clients.update(client for client, _start, _end in info.clocks)
    change = room.replica.apply_committed(update, info)
    if change is not None:
        room.pipeline.write_alone(change, author)
        await room.pipeline.settled()
    logger.info("undid a restore of note=%s", room.note, extra={"note": room.note})
    return Undone(change is not None, kept_inside)
