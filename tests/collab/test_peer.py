"""A peer's life is OPEN <-> RESYNCING -> CLOSING -> CLOSED, and nothing else."""

from __future__ import annotations

import pytest

from collab.channel import memory_channel_pair
from collab.errors import CloseCode
from collab.peer import Peer, PeerState, Role


def new_peer() -> Peer:
    here, _there = memory_channel_pair("peer")
    return Peer(here, Role.EDITOR, max_queue=10)


async def test_a_resync_comes_back_to_open_with_the_markers_held_meanwhile() -> None:
    peer = new_peer()
    peer.resync()
    assert peer.state is PeerState.RESYNCING
    assert peer.hold_marker(7)
    assert peer.resynced() == [7]
    assert peer.state is PeerState.OPEN
    assert not peer.hold_marker(8)  # nothing awaited: acknowledged at once


async def test_a_closing_peer_neither_resyncs_nor_reopens() -> None:
    peer = new_peer()
    peer.resync()
    peer.close(CloseCode.GOING_AWAY, "bye")
    assert peer.state is PeerState.CLOSING and peer.closing
    peer.resync()
    assert peer.resynced() == []
    assert peer.state is PeerState.CLOSING
    peer.close(CloseCode.INTERNAL_ERROR, "again")  # idempotent: the first close stands
    assert peer.close_frame == (CloseCode.GOING_AWAY, "bye")


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([PeerState.CLOSING], PeerState.OPEN),
        ([PeerState.CLOSING], PeerState.RESYNCING),
        ([PeerState.CLOSED], PeerState.OPEN),
        ([PeerState.CLOSED], PeerState.CLOSING),
        ([PeerState.RESYNCING, PeerState.CLOSING, PeerState.CLOSED], PeerState.RESYNCING),
    ],
)
async def test_an_illegal_move_is_refused_loudly(path: list[PeerState], illegal: PeerState) -> None:
    peer = new_peer()
    for state in path:
        peer._move(state)
    with pytest.raises(RuntimeError, match=f"cannot go from {path[-1].value} to {illegal.value}"):
        peer._move(illegal)
    assert peer.state is path[-1]
