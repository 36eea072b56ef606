"""A room over in-memory channels: sync, dispatch, roles, limits and failures of its peers.

What it hands to its parts is tested beside them: the write pipeline in
``test_pipeline.py``, presence in ``test_presence.py``.
"""

from __future__ import annotations

import asyncio
import contextlib

import pycrdt
from support.memclient import MemoryClient
from support.memroom import NOTE, make_room, serving, store_has, stored_text
from support.waiting import until

from collab import protocol, restoring
from collab.errors import ChannelClosed, CloseCode
from collab.peer import Role
from collab.persistence import MemoryStore
from collab.remote import LocalSide
from collab.room import Room


async def test_a_newcomer_gets_the_servers_step1_and_then_the_content() -> None:
    store = MemoryStore()
    room = make_room(store)
    async with MemoryClient.join(serving(room), "ana") as ana:
        await ana.edit(0, "hello")
        await asyncio.wait_for(store_has(store, 1), 2)
        async with MemoryClient.join(serving(room), "ben") as ben:
            assert ben.kinds()[0] == "SyncStep1"
            assert str(ben.text) == "hello"


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
    await until(lambda: room.peer_count == count, what=f"{count} peers in the room")


async def test_a_full_room_refuses_one_more_peer_with_4429() -> None:
    room = make_room(MemoryStore(), max_peers=1)
    async with (
        MemoryClient.join(serving(room), "ana"),
        MemoryClient.join(serving(room), "ben", sync=False) as ben,
    ):
        await ben.closed.wait()
        assert ben.channel.close_code == CloseCode.TOO_MANY_REQUESTS


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
