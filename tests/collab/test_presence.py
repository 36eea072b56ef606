"""collab.presence through a room: who is present, relayed at once or batched, and checked.

Every test drives a room over in-memory channels, as its peers reach the relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.memclient import MemoryClient
from support.memroom import make_room, serving

from collab import awareness, protocol
from collab.channel import memory_channel_pair
from collab.errors import CloseCode
from collab.peer import Peer, Role
from collab.persistence import MemoryStore
from collab.presence import PresenceRelay
from collab.protocol import AwarenessUpdate


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


# -- the relay alone: what crosses to and from other processes ---------------------------


class Here:
    """A relay with one peer of this process, whose frames are read as they are sent."""

    def __init__(self) -> None:
        self.published: list[list[tuple[int, str | None]]] = []
        server_end, self.client_end = memory_channel_pair("ana")
        self.peer = Peer(server_end, Role.EDITOR, max_queue=16)
        self.relay = PresenceRelay(
            {self.peer},
            max_state_bytes=1000,
            renewal_delay_s=0.05,
            publish=lambda payload: self.published.append(decoded(payload)),
        )

    async def heard(self) -> list[tuple[int, str | None]]:
        """The entries of the next awareness frame the peer gets."""
        message = protocol.parse_message(await asyncio.wait_for(self.client_end.recv(), 2))
        assert isinstance(message, AwarenessUpdate)
        return decoded(message.payload)


def decoded(payload: bytes) -> list[tuple[int, str | None]]:
    """Each entry's client and state (the room sends its own clocks)."""
    return [(e.client_id, e.state) for e in awareness.decode(payload, max_state_bytes=1000)]


@pytest.fixture
async def here() -> AsyncIterator[Here]:
    made = Here()
    sending = asyncio.create_task(made.peer.run_sender())
    yield made
    made.relay.close()
    sending.cancel()


ZED = awareness.Entry(7, 1, '{"name":"Zed"}')
SEEN_ZED = (7, '{"name":"Zed"}')


async def test_another_processs_presence_is_shown_here_and_leaves_with_that_process(
    here: Here,
) -> None:
    here.relay.remote("other", awareness.encode([ZED]))
    assert await here.heard() == [SEEN_ZED]
    assert [(e.client_id, e.state) for e in here.relay.present()] == [SEEN_ZED]
    assert here.relay.local_payload() is None  # not this process's to tell
    assert here.published == []  # nor told back
    here.relay.gone("other")
    assert await here.heard() == [(7, None)]
    assert here.relay.present() == []


async def test_what_a_peer_here_sets_is_published_and_so_is_its_leaving(here: Here) -> None:
    ana = awareness.Entry(5, 1, '{"name":"Ana"}')
    here.relay.receive(here.peer, awareness.encode([ana]))
    assert here.published == [[(5, ana.state)]]
    payload = here.relay.local_payload()
    assert payload is not None and decoded(payload) == [(5, ana.state)]
    here.relay.leave(here.peer)
    assert here.published[-1] == [(5, None)]
    assert here.relay.local_payload() is None


async def test_malformed_presence_from_another_process_is_dropped_with_a_warning(
    here: Here, caplog: pytest.LogCaptureFixture
) -> None:
    here.relay.remote("other", b"\x01\x07")  # one entry, cut short
    assert here.relay.present() == []
    assert "dropped presence from other" in caplog.text
