"""collab.pipeline through a room: append, commit, then broadcast; acknowledgements; checkpoints.

Every test drives a room over in-memory channels, as its peers reach the
pipeline, with a ``MemoryStore`` whose ``hold()`` keeps commits pending.
"""

from __future__ import annotations

import asyncio

import pycrdt
import pytest
from support.memclient import MemoryClient
from support.memroom import NOTE, make_room, serving, store_has, stored_text
from support.waiting import until

from collab import document, protocol
from collab.config import RoomConfig
from collab.errors import CloseCode, StorageFailed
from collab.peer import Peer
from collab.persistence import MemoryStore
from collab.pipeline import WritePipeline
from collab.replica import Change
from collab.room import Room


def pycrdt_update(text: str) -> bytes:
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


async def test_an_edit_reaches_others_only_after_it_is_committed() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        store.hold()
        await ana.edit(0, "x")
        await asyncio.wait_for(store_has(store, 1), 2)  # applied and on its way to disk
        await ben.roundtrip()  # a broadcast made before the commit would be in by now
        assert str(ben.text) == ""
        store.release()
        await ben.wait_until(lambda c: str(c.text) == "x")


async def test_a_sync_answer_waits_for_the_writes_it_contains() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        store.hold()
        await ana.edit(0, "pending")
        async with MemoryClient.join(serving(room), "ben", sync=False) as ben:
            await ben.channel.send(protocol.encode_sync_step1(ben.doc.get_state()))
            await ben.roundtrip()  # answered after the step 1, so a step 2 sent at once is in
            assert "SyncStep2" not in ben.kinds()
            store.release()
            await ben.wait_until(lambda c: str(c.text) == "pending")


async def test_a_failed_write_closes_the_room_with_1011_and_is_never_broadcast() -> None:
    store = MemoryStore()
    broken: list[Room] = []
    room = Room(NOTE, pycrdt.Doc(), store, on_broken=broken.append)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        store.fail_appends = OSError("disk full")
        await ana.edit(0, "lost?")
        await ana.closed.wait()
        await ben.closed.wait()
        assert ana.channel.close_code == CloseCode.INTERNAL_ERROR
        assert ben.channel.close_code == CloseCode.INTERNAL_ERROR
        assert str(ben.text) == ""
        assert broken == [room]


async def test_a_checkpoint_equals_the_document_and_the_log_is_kept() -> None:
    store = MemoryStore()
    room = make_room(store, checkpoint_after_updates=5)
    async with MemoryClient.join(serving(room), "ana") as ana:
        for i in range(5):
            await ana.edit(i, str(i))
            if i < 4:  # one logged update each (edits of one loop turn share one)
                await asyncio.wait_for(store_has(store, i + 1), 2)
        await until(lambda: 5 in store.checkpoints_of(NOTE), what="a checkpoint at update 5")
        assert len(store.logs[NOTE]) == 5  # the history stays
        checkpoint = pycrdt.Doc()
        checkpoint.apply_update(store.checkpoints_of(NOTE)[5])
        assert str(checkpoint.get("content", type=pycrdt.Text)) == stored_text(store) == "01234"


async def test_a_sync_answer_does_not_wait_for_a_checkpoint() -> None:
    store = MemoryStore()
    store.seed(NOTE, pycrdt_update("long log"))
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.apply_update(store.logs[NOTE][0])
    store.hold()  # the checkpoint a long log gets at once stays uncommitted
    room = Room(
        NOTE, doc, store, RoomConfig(checkpoint_after_updates=1), since_checkpoint=1, head=1
    )
    async with MemoryClient.join(serving(room), "ana") as ana:
        assert str(ana.text) == "long log"
        assert 1 in store.checkpoints_of(NOTE)  # queued, and still held
        store.release()


async def test_a_save_marker_is_acknowledged_only_after_the_edits_before_it_commit() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        store.hold()
        await ana.edit(0, "typed")
        await ana.channel.send(protocol.encode_save_marker(7))
        await ana.roundtrip()  # an ack sent without waiting for the commit would be in
        assert protocol.encode_save_ack(7) not in ana.frames
        store.release()
        await ana.wait_until(lambda c: protocol.encode_save_ack(7) in c.frames)


async def test_a_marker_held_during_a_resync_is_acknowledged_after_the_reply_commits() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        before = ana.doc.get_state()
        ana.text.insert(0, "offline ")  # typed while away: not sent yet
        keystroke_from = ana.doc.get_state()
        ana.text.insert(len(ana.text), "k")
        await ana.channel.send(protocol.encode_sync_update(ana.doc.get_update(keystroke_from)))
        await ana.channel.send(protocol.encode_save_marker(3))  # held: the room asked again
        await ana.roundtrip()
        store.hold()
        await ana.channel.send(protocol.encode_sync_step2(ana.doc.get_update(before)))
        await ana.roundtrip()  # an ack sent before the reply's edits commit would be in
        assert protocol.encode_save_ack(3) not in ana.frames
        store.release()
        await ana.wait_until(lambda c: protocol.encode_save_ack(3) in c.frames)
        assert stored_text(store) == "offline k"


async def test_a_room_alone_on_its_note_checkpoints_its_document_without_a_replay() -> None:
    store = MemoryStore()
    store.seed(NOTE, pycrdt_update("seeded "))
    room = Room(NOTE, document.build(store.logs[NOTE]), store, RoomConfig(), head=1)
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.edit(len(ana.text), "typed")
        await ana.roundtrip()
        await room.close()  # checkpoints: the room's document, standing for position 2
    assert store.room_checkpoints == 1
    assert document.text(document.build([store.checkpoints_of(NOTE)[2]])) == "seeded typed"
    assert stored_text(store) == "seeded typed"


async def test_a_room_leaves_a_large_documents_checkpoint_to_the_store() -> None:
    """Encoding it would hold the event loop: the store builds it from the log, apart."""
    store = MemoryStore()
    large = "x" * (document.APART_BYTES + 1)
    store.seed(NOTE, pycrdt_update(large))
    room = Room(NOTE, document.build(store.logs[NOTE]), store, RoomConfig(), head=1)
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.edit(len(ana.text), "typed")
        await ana.roundtrip()
        await room.close()  # checkpoints: built from the log, not from the room's document
    assert store.room_checkpoints == 0
    assert document.text(document.build([store.checkpoints_of(NOTE)[2]])) == large + "typed"


async def test_a_client_that_sends_no_markers_never_gets_an_ack() -> None:
    room = make_room(MemoryStore())
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.edit(0, "typed")
        await ben.wait_until(lambda c: str(c.text) == "typed")
        assert all(frame[0] != protocol.MessageType.SAVE for frame in ana.frames + ben.frames)


async def test_updates_committed_together_go_out_as_one_merged_frame() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
        MemoryClient.join(serving(room), "cat") as cat,
    ):
        store.hold()
        await ana.edit(0, "a")
        await ben.edit(0, "b")
        # both in the store, not yet committed
        await until(lambda: len(stored_text(store)) >= 2, what="both edits stored")
        store.release()
        await cat.wait_until(lambda c: len(str(c.text)) == 2)
        assert cat.kinds().count("SyncUpdate") == 1
        await ana.wait_until(lambda c: len(str(c.text)) == 2)
        await ben.wait_until(lambda c: len(str(c.text)) == 2)


async def test_edits_of_one_loop_turn_are_stored_as_one_update_and_acked_after_it() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        frames = []
        for i, chunk in enumerate("xyz"):
            before = ana.doc.get_state()
            ana.text.insert(i, chunk)
            frames.append(protocol.encode_sync_update(ana.doc.get_update(before)))
        store.hold()
        for frame in [*frames, protocol.encode_save_marker(7)]:  # no await yields between these
            await ana.channel.send(frame)
        await asyncio.wait_for(store_has(store, 1), 2)
        await ana.roundtrip()
        assert "SaveAck" not in ana.kinds()  # the marker waits for the commit
        store.release()
        await ana.wait_until(lambda c: protocol.encode_save_ack(7) in c.frames)
        await ben.wait_until(lambda c: str(c.text) == "xyz")
        assert len(store.logs[NOTE]) == 1
        assert stored_text(store) == "xyz"
        assert ben.kinds().count("SyncUpdate") == 1


# -- the pipeline alone, as a room drives it ---------------------------------------------


def changes(*chunks: str) -> list[Change]:
    """What a room would hand the pipeline for ``chunks`` typed one after the other."""
    doc: pycrdt.Doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    made = []
    for chunk in chunks:
        before = doc.get_state()
        text += chunk
        made.append(Change(doc.get_update(before), len(chunk), 0))
    return made


class Pipeline:
    """A WritePipeline for note NOTE over ``store``, and what it reports to its room."""

    def __init__(self, store: MemoryStore, head: int = 0) -> None:
        self.failures: list[tuple[set[Peer | None], BaseException | None]] = []
        self.rows: list[list[tuple[int, bytes]]] = []
        self.pipeline = WritePipeline(
            NOTE,
            store,
            set(),
            on_failure=lambda senders, error: self.failures.append((senders, error)),
            checkpoint_after_updates=1000,
            checkpoint_after_idle_s=3600,
            head=head,
            on_committed=self.rows.append,
        )


async def test_what_one_turn_writes_is_one_row_per_author_reported_with_its_position() -> None:
    store = MemoryStore()
    store.seed(NOTE, pycrdt_update("seeded"))
    under = Pipeline(store, head=1)
    a, b, c = changes("a", "b", "c")
    under.pipeline.write(None, a, "Ana")
    under.pipeline.write(None, b, "Ben")
    under.pipeline.write(None, c, "Ana")  # the same turn: Ana's two changes are one row
    await under.pipeline.settled()
    assert [(edit.author, edit.added) for edit in store.log_of(NOTE)[1:]] == [
        ("Ana", 2),
        ("Ben", 1),
    ]
    assert under.pipeline.head == 3
    assert [[position for position, _ in rows] for rows in under.rows] == [[2, 3]]
    assert under.rows[0][1][1] == b.delta


async def test_a_callback_after_appends_waits_for_their_commit() -> None:
    store = MemoryStore()
    under = Pipeline(store)
    ran: list[str] = []
    under.pipeline.after_appends(lambda: ran.append("before any append"))
    assert ran == ["before any append"]  # nothing pending: at once
    store.hold()
    under.pipeline.write(None, changes("x")[0], "Ana")
    under.pipeline.after_appends(lambda: ran.append("after x"))
    under.pipeline.flush()
    assert len(store.log_of(NOTE)) == 1  # appended, its commit held
    assert ran == ["before any append"]
    store.release()
    await under.pipeline.settled()
    assert ran == ["before any append", "after x"]


async def test_a_failed_append_stops_the_pipeline_and_tells_the_room_once() -> None:
    store = MemoryStore()
    under = Pipeline(store)
    store.fail_appends = OSError("disk full")
    under.pipeline.write(None, changes("lost")[0], "Ana")
    with pytest.raises(StorageFailed):
        await under.pipeline.settled()
    assert under.pipeline.failed
    assert [(senders, str(error)) for senders, error in under.failures] == [({None}, "disk full")]
    assert (under.rows, under.pipeline.head) == ([], 0)
    assert not await under.pipeline.committed(within_s=0)


async def test_write_alone_gives_the_servers_change_a_row_and_a_position_of_its_own() -> None:
    under = Pipeline(MemoryStore())
    typed, restored = changes("typed", "restored")
    under.pipeline.write(None, typed, "Ana")
    position = await under.pipeline.write_alone(restored, "Ben")
    assert position == 2
    assert [[p for p, _ in rows] for rows in under.rows] == [[1], [2]]
