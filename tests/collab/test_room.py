"""A room over in-memory channels: sync, broadcast after commit, presence, roles, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pycrdt
from support.memclient import MemoryClient

from collab import awareness, document, protocol, restoring
from collab.channel import MemoryChannel
from collab.config import RoomConfig
from collab.errors import ChannelClosed, CloseCode
from collab.peer import Role
from collab.persistence import MemoryStore
from collab.remote import LocalSide
from collab.room import Room

NOTE = 1


def make_room(store: MemoryStore, **config: Any) -> Room:
    return Room(NOTE, pycrdt.Doc(), store, RoomConfig(**config))


def serving(room: Room, role: Role = Role.EDITOR) -> Callable[[MemoryChannel], Any]:
    return lambda channel: room.serve(channel, role)


def stored_text(store: MemoryStore) -> str:
    """The note's text as its whole logged history makes it."""
    doc: pycrdt.Doc = pycrdt.Doc()
    for update in store.logs.get(NOTE, []):
        doc.apply_update(update)
    return str(doc.get("content", type=pycrdt.Text))


async def test_a_newcomer_gets_the_servers_step1_and_then_the_content() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.edit(0, "hello")
        await asyncio.wait_for(store_has(store, 1), 2)
        async with MemoryClient.join(serving(room), "ben") as ben:
            assert ben.kinds()[0] == "SyncStep1"
            assert str(ben.text) == "hello"


async def store_has(store: MemoryStore, count: int) -> None:
    while len(store.logs.get(NOTE, [])) < count:
        await asyncio.sleep(0.001)


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


async def test_the_sender_does_not_get_its_own_edit_back() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.edit(0, "abc")
        await ben.wait_until(lambda c: str(c.text) == "abc")
        assert "SyncUpdate" not in ana.kinds()


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


async def test_a_resent_update_is_neither_stored_nor_broadcast_again() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.edit(0, "once")
        await ben.wait_until(lambda c: str(c.text) == "once")
        await ana.channel.send(protocol.encode_sync_update(ana.doc.get_update()))
        await ana.channel.send(protocol.encode_sync_step1(ana.doc.get_state()))
        await ana.wait_until(lambda c: c.kinds().count("SyncStep2") == 2)
        assert len(store.logs[NOTE]) == 1
        assert ben.kinds().count("SyncUpdate") == 1


async def test_a_keystroke_is_stored_and_relayed_as_sent() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        before = ana.doc.get_state()
        ana.text.insert(0, "k")
        keystroke = ana.doc.get_update(before)
        await ana.channel.send(protocol.encode_sync_update(keystroke))
        await ben.wait_until(lambda c: str(c.text) == "k")
        assert store.logs[NOTE] == [keystroke]
        assert protocol.encode_sync_update(keystroke) in ben.frames


async def test_a_resent_deletion_is_not_stored_again() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.edit(0, "abc")
        before = ana.doc.get_state()
        deleted: list[bytes] = []
        subscription = ana.doc.observe(lambda event: deleted.append(event.update))
        del ana.text[0:1]
        ana.doc.unobserve(subscription)
        assert ana.doc.get_state() == before  # a pure deletion: no new clocks
        await ana.channel.send(protocol.encode_sync_update(deleted[0]))
        await ben.wait_until(lambda c: str(c.text) == "bc")
        relayed, logged = ben.kinds().count("SyncUpdate"), len(store.logs[NOTE])
        await ana.channel.send(protocol.encode_sync_update(deleted[0]))
        await ana.channel.send(protocol.encode_sync_step1(ana.doc.get_state()))
        await ana.wait_until(lambda c: c.kinds().count("SyncStep2") == 2)
        assert len(store.logs[NOTE]) == logged
        assert ben.kinds().count("SyncUpdate") == relayed
        assert stored_text(store) == "bc"


async def test_a_sync_reply_with_known_and_new_edits_stores_only_the_new() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ben.edit(0, "known")
        await ana.wait_until(lambda c: str(c.text) == "known")
        ana.text.insert(5, " new")  # typed offline: the server has not seen it
        # Ben's block is known to the server, Ana's is new.
        await ana.channel.send(protocol.encode_sync_step2(ana.doc.get_update()))
        await asyncio.wait_for(store_has(store, 2), 2)
        fresh: pycrdt.Doc = pycrdt.Doc()
        fresh.apply_update(store.logs[NOTE][1])
        # Only Ana's characters: without Ben's "known" before them, they are pending.
        assert str(fresh.get("content", type=pycrdt.Text)) == ""
        assert len(store.logs[NOTE][1]) < len(ana.doc.get_update())
        assert stored_text(store) == "known new"


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


async def test_a_malformed_frame_closes_only_its_sender() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "eve") as eve,
    ):
        await eve.channel.send(b"\x00\x02\x05garbage")
        await eve.closed.wait()
        assert eve.channel.close_code == CloseCode.INVALID_PAYLOAD
        await ana.edit(0, "still fine")
        await asyncio.wait_for(store_has(store, 1), 2)
        await asyncio.wait_for(_peer_count(room, 1), 2)


async def test_a_viewers_edit_is_refused_with_an_auth_message_and_not_stored() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room, Role.VIEWER), "vic") as vic,
    ):
        await vic.edit(0, "vandalism")
        await vic.wait_until(lambda c: "Auth" in c.kinds())
        await ana.edit(0, "real")
        await vic.wait_until(lambda c: "real" in str(c.text))
        assert NOTE not in store.logs or stored_text(store) == "real"
        assert str(ana.text) == "real"


async def test_a_viewer_is_marked_as_a_viewer_by_the_server_whatever_it_claims() -> None:
    room = make_room(MemoryStore())
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room, Role.VIEWER), "vic") as vic,
    ):
        await vic.present({"user": {"name": "Vic"}, "role": "editor"})
        await ana.wait_until(lambda c: vic.doc.client_id in c.states)
        assert ana.states[vic.doc.client_id] == {"user": {"name": "Vic"}, "role": "viewer"}


async def test_a_newcomer_sees_everyone_present_at_once() -> None:
    room = make_room(MemoryStore())
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.present({"user": {"name": "Ana"}})
        await asyncio.sleep(0)
        async with MemoryClient.join(serving(room), "ben") as ben:
            assert ben.states == {ana.doc.client_id: {"user": {"name": "Ana"}}}


async def test_an_echoed_presence_is_not_relayed_but_a_renewal_is() -> None:
    room = make_room(MemoryStore(), awareness_renewal_delay_s=0.05)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.present({"name": "Ana"})
        await ben.wait_until(lambda c: ana.doc.client_id in c.states)
        relayed = ben.kinds().count("AwarenessUpdate")
        echo = ben.frames[-1]  # a stock client echoes what it was sent
        await ben.channel.send(echo)
        await ana.present({"name": "Ana"})  # a renewal: same state, newer clock
        await ben.wait_until(lambda c: c.kinds().count("AwarenessUpdate") == relayed + 1)
        # Ana hears only her own two updates back (keep-alive), none of Ben's echoes.
        await ana.wait_until(lambda c: c.kinds().count("AwarenessUpdate") == 2)
        await ana.roundtrip()  # Ben's echo was handled long ago: relayed, it would be in
        assert ana.kinds().count("AwarenessUpdate") == 3  # the two, and the answer


async def test_renewals_are_relayed_together_a_moment_later_and_changes_at_once() -> None:
    room = make_room(MemoryStore(), awareness_renewal_delay_s=0.3)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
        MemoryClient.join(serving(room), "cat") as cat,
    ):
        for client, name in ((ana, "Ana"), (ben, "Ben")):
            await client.present({"name": name})
        await cat.wait_until(lambda c: len(c.states) == 2)
        await ana.wait_until(lambda c: ben.doc.client_id in c.states)
        frames, ana_frames = len(cat.frames), len(ana.frames)
        await ana.present({"name": "Ana"})  # renewals: same states, newer clocks
        await ben.present({"name": "Ben"})
        await ana.roundtrip()  # both renewals are handled...
        await ben.roundtrip()
        await cat.roundtrip()  # ...and anything relayed at once would have reached Cat
        assert len(cat.frames) == frames + 1  # only the answer: the renewals are held back
        await ana.present({"name": "Ana", "cursor": 3})  # a change goes at once
        await cat.wait_until(lambda c: c.states[ana.doc.client_id].get("cursor") == 3)
        assert len(cat.frames) == frames + 2
        await cat.wait_until(lambda c: len(c.frames) == frames + 3, timeout_s=1)
        [renewal] = awareness.decode(
            protocol.parse_message(cat.frames[-1]).payload, max_state_bytes=1000
        )  # type: ignore[union-attr]
        assert renewal.client_id == ben.doc.client_id  # Ana's renewal was overtaken
        await ana.roundtrip()  # the renewals went out at once: Ana's are in too
        ana_sees = [
            awareness.decode(protocol.parse_message(f).payload, max_state_bytes=1000)
            for i, f in enumerate(ana.frames)
            if i >= ana_frames and i not in ana.answers and f[0] == protocol.MessageType.AWARENESS
        ]
        # Nobody is sent their own entry with the room's clock for it.
        assert all(e.client_id != ana.doc.client_id for entries in ana_sees for e in entries)


async def test_a_leaving_peers_presence_is_removed_for_the_others() -> None:
    room = make_room(MemoryStore())
    async with MemoryClient.join(serving(room), "ana") as ana:
        async with MemoryClient.join(serving(room), "ben") as ben:
            await ben.present({"name": "Ben"})
            await ana.wait_until(lambda c: ben.doc.client_id in c.states)
        await ana.wait_until(lambda c: ben.doc.client_id not in c.states)


async def test_a_peer_cannot_take_over_another_peers_presence() -> None:
    room = make_room(MemoryStore())
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "eve") as eve,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.present({"name": "Ana"})
        await ben.wait_until(lambda c: ana.doc.client_id in c.states)
        eve._clock = 100
        await eve.present({"name": "Eve as Ana"}, client_id=ana.doc.client_id)
        await eve.present({"name": "Eve"})
        await ben.wait_until(lambda c: eve.doc.client_id in c.states)
        assert ben.states[ana.doc.client_id] == {"name": "Ana"}


async def test_a_client_alone_in_a_room_gets_its_presence_back_as_keepalive() -> None:
    room = make_room(MemoryStore())
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.present({"name": "Ana"})
        await ana.wait_until(lambda c: c.kinds().count("AwarenessUpdate") == 1)
        assert ana.states == {ana.doc.client_id: {"name": "Ana"}}


async def test_with_someone_else_present_a_renewal_is_not_sent_back_to_its_sender() -> None:
    room = make_room(MemoryStore(), awareness_renewal_delay_s=0.01)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ben.present({"name": "Ben"})
        await ana.wait_until(lambda c: ben.doc.client_id in c.states)
        await ana.present({"name": "Ana"})
        await ana.present({"name": "Ana"})
        await ben.wait_until(
            lambda c: ana.doc.client_id in c.states and c.kinds().count("AwarenessUpdate") == 3
        )
        assert ana.doc.client_id not in ana.states  # Ben's presence is traffic enough


async def test_an_echo_is_dropped_unread_but_a_new_state_must_be_json() -> None:
    room = make_room(MemoryStore())
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.present({"name": "Ana"})
        await ben.wait_until(lambda c: ana.doc.client_id in c.states)
        # An old clock for Ana's id: ignored before its state is even parsed, so
        # Ben stays connected and his own presence still goes through.
        await ben.channel.send(
            protocol.encode_awareness(
                awareness.encode([awareness.Entry(ana.doc.client_id, 1, "not json")])
            )
        )
        await ben.present({"name": "Ben"})
        await ana.wait_until(lambda c: ben.doc.client_id in c.states)
        await ben.channel.send(
            protocol.encode_awareness(
                awareness.encode([awareness.Entry(ben.doc.client_id, 99, "not json")])
            )
        )
        await ben.closed.wait()
        assert ben.channel.close_code == CloseCode.INVALID_PAYLOAD
        assert not ana.closed.is_set()


async def test_query_awareness_is_answered_with_every_state() -> None:
    room = make_room(MemoryStore())
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.present({"name": "Ana"})
        await ben.wait_until(lambda c: ana.doc.client_id in c.states)
        before = ben.kinds().count("AwarenessUpdate")
        await ben.channel.send(protocol.encode_query_awareness())
        await ben.wait_until(lambda c: c.kinds().count("AwarenessUpdate") == before + 1)


async def test_a_peer_that_stops_reading_is_dropped_without_stalling_the_others() -> None:
    store = MemoryStore()
    room = make_room(store, max_send_queue_messages=30, close_timeout_s=0.2)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
        MemoryClient.join(serving(room), "sly") as sly,
    ):
        server_end = sly.channel.peer
        assert server_end is not None
        server_end.stall()
        for i in range(60):
            await ana.edit(i, "k")
            await asyncio.sleep(0.001)  # type at a human-ish pace: only Sly falls behind
        await ben.wait_until(lambda c: len(str(c.text)) == 60)
        await sly.closed.wait()
        assert sly.channel.close_code == CloseCode.TRY_AGAIN_LATER


async def test_a_checkpoint_equals_the_document_and_the_log_is_kept() -> None:
    store = MemoryStore()
    room = make_room(store, checkpoint_after_updates=5)
    async with MemoryClient.join(serving(room), "ana") as ana:
        for i in range(5):
            await ana.edit(i, str(i))
            if i < 4:  # one logged update each (edits of one loop turn share one)
                await asyncio.wait_for(store_has(store, i + 1), 2)
        while 5 not in store.checkpoints_of(NOTE):
            await asyncio.sleep(0.001)
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


def pycrdt_update(text: str) -> bytes:
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


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


async def test_a_client_that_sends_no_markers_never_gets_an_ack() -> None:
    room = make_room(MemoryStore())
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "ben") as ben,
    ):
        await ana.edit(0, "typed")
        await ben.wait_until(lambda c: str(c.text) == "typed")
        assert all(frame[0] != protocol.MessageType.SAVE for frame in ana.frames + ben.frames)


async def test_a_flood_of_messages_is_closed_with_4429() -> None:
    room = make_room(MemoryStore(), max_messages_per_s=10, message_burst=20)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "eve") as eve,
    ):
        for _ in range(50):
            await eve.channel.send(protocol.encode_query_awareness())
        await eve.closed.wait()
        assert eve.channel.close_code == CloseCode.TOO_MANY_REQUESTS
        await ana.edit(0, "unaffected")
        await asyncio.wait_for(_peer_count(room, 1), 2)


async def _retype(client: MemoryClient, index: int) -> None:
    """Type over the character at ``index``: a deletion rides along, so no keystroke."""
    before = client.doc.get_state()
    with client.doc.transaction():
        client.text.insert(index, "xy")
        del client.text[index + 1 : index + 2]
    await client.channel.send(protocol.encode_sync_update(client.doc.get_update(before)))


async def test_edits_that_cost_the_room_more_than_the_budget_close_with_1013() -> None:
    # 1013, so that a stock client reconnects and sends what was not applied (never 44xx).
    # 20 us of applying a burst, refilled at 1 us a second: a few edits, then no more.
    store = MemoryStore()
    room = make_room(store, apply_budget_s=20e-6, apply_budget_per_s=1e-6)
    async with (
        MemoryClient.join(serving(room), "ana") as ana,
        MemoryClient.join(serving(room), "eve") as eve,
    ):
        with contextlib.suppress(ChannelClosed):  # until the room closes it
            for i in range(2000):  # each costs microseconds: the charges add up
                await _retype(eve, i)
                if i % 50 == 0:
                    await asyncio.sleep(0)
        await asyncio.wait_for(eve.closed.wait(), 5)
        assert eve.channel.close_code == CloseCode.TRY_AGAIN_LATER
        assert "too long to apply" in (eve.channel.close_reason or "")
        await ana.edit(0, "unaffected")
        await asyncio.wait_for(_peer_count(room, 1), 2)
        await ana.roundtrip()
        # What the room applied is logged, the edit that went past the budget too.
        assert stored_text(store) == str(room.text)


async def test_keystrokes_are_not_charged_to_the_apply_budget() -> None:
    """Their cost is bounded by their shape and the message rate: only other edits are timed."""
    room = make_room(MemoryStore(), apply_budget_s=20e-6, apply_budget_per_s=1e-6)
    async with MemoryClient.join(serving(room), "ana") as ana:
        for i in range(2000):
            await ana.edit(i, "k")
            if i % 50 == 0:
                await asyncio.sleep(0)
        await ana.roundtrip()
        assert str(room.text) == "k" * 2000
        assert not ana.closed.is_set()


async def _peer_count(room: Room, count: int) -> None:
    while room.peer_count != count:
        await asyncio.sleep(0.001)


async def test_a_full_room_refuses_one_more_peer_with_4429() -> None:
    room = make_room(MemoryStore(), max_peers=1)
    async with (
        MemoryClient.join(serving(room), "ana"),
        MemoryClient.join(serving(room), "ben", sync=False) as ben,
    ):
        await ben.closed.wait()
        assert ben.channel.close_code == CloseCode.TOO_MANY_REQUESTS


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
        while len(stored_text(store)) < 2:  # both in the store, not yet committed
            await asyncio.sleep(0.001)
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


async def test_a_stale_sync_reply_is_answered_with_a_fresh_step1_not_a_close() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.edit(0, "abc")
        await asyncio.wait_for(store_has(store, 1), 2)
        stale_from = ana.doc.get_state()
        await ana.edit(3, "d")  # sent live, and then repeated in a stale reply with more
        ana.text.insert(4, "ef")
        await asyncio.wait_for(store_has(store, 2), 2)
        await ana.channel.send(protocol.encode_sync_step2(ana.doc.get_update(stale_from)))
        await ana.channel.send(protocol.encode_save_marker(1))
        await ana.wait_until(lambda c: c.kinds().count("SyncStep1") == 2)
        assert not ana.closed.is_set()
        assert protocol.encode_save_ack(1) not in ana.frames  # "ef" is not saved yet
        server_state = pycrdt.Doc()
        server_state.apply_update(room.doc.get_update())
        await ana.channel.send(
            protocol.encode_sync_step2(ana.doc.get_update(server_state.get_state()))
        )
        await ana.wait_until(lambda c: protocol.encode_save_ack(1) in c.frames)
        assert stored_text(store) == "abcdef"


async def test_newcomers_with_the_same_state_vector_get_each_edit_made_between_them() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        async with MemoryClient.join(serving(room), "ben") as ben:  # ben's reply: empty
            assert str(ben.text) == ""
        await ana.edit(0, "hello")
        await asyncio.wait_for(store_has(store, 1), 2)
        async with MemoryClient.join(serving(room), "cy") as cy:  # the same state vector
            assert str(cy.text) == "hello"
        await restoring.restore(room, "goodbye", "ana", live_typing_s=0)
        async with MemoryClient.join(serving(room), "dan") as dan:
            assert str(dan.text) == "goodbye"


async def test_a_room_of_a_single_process_has_a_null_side_that_follows_its_own_commits() -> None:
    store = MemoryStore()
    room = make_room(store)  # the default fan-out: NO_FANOUT, one process
    assert isinstance(room.remote, LocalSide)  # never a LogSync or a RemoteSide
    async with MemoryClient.join(serving(room), "ana") as ana:
        assert room.remote.peer_count() == 1
        for count, (index, text) in enumerate([(0, "ab"), (2, "c")], start=1):
            await ana.edit(index, text)
            await asyncio.wait_for(store_has(store, count), 2)
            await room.pipeline.settled()
            assert room.remote.known() == room.pipeline.head == count
