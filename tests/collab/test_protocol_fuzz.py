"""Property-based fuzzing of the protocol layer, through a live room in memory.

Whatever bytes a peer sends, the room either acts on them or closes that one
peer with a named code; it never raises anything else, and the other peers
keep editing.
"""

from __future__ import annotations

import asyncio

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collab import protocol
from collab.channel import memory_channel_pair
from collab.errors import PeerError
from collab.peer import Peer, Role
from collab.persistence import MemoryStore
from collab.room import Room


def _real_frames() -> list[bytes]:
    doc: pycrdt.Doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    frames = [protocol.encode_sync_step1(doc.get_state())]
    for chunk in ["hello", " ", "wörld", "日本"]:
        before = doc.get_state()
        text.insert(len(text), chunk)
        frames.append(protocol.encode_sync_update(doc.get_update(before)))
    frames.append(protocol.encode_awareness(b"\x01\x05\x01\x02{}"))
    frames.append(protocol.encode_query_awareness())
    frames.append(protocol.encode_save_marker(3))
    return frames


REAL = _real_frames()


def _mutate(data: st.DataObject) -> bytes:
    frame = bytearray(data.draw(st.sampled_from(REAL)))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = data.draw(st.integers(0, max(0, len(frame) - 1)))
        if action == "flip" and frame:
            frame[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del frame[pos:]
        elif action == "insert":
            frame.insert(pos, data.draw(st.integers(0, 255)))
        elif frame:
            frame[pos:pos] = frame[pos:]
    return bytes(frame)


def _handle_all(frames: list[bytes]) -> None:
    async def run() -> None:
        room = Room(1, pycrdt.Doc(), MemoryStore())
        server_end, _client_end = memory_channel_pair()
        attacker = Peer(server_end, Role.EDITOR, max_queue=10_000)
        for frame in frames:
            try:
                room.handle(attacker, frame)
            except PeerError:
                continue  # closes that peer; the room goes on
        honest = Peer(memory_channel_pair()[0], Role.EDITOR, max_queue=10_000)
        doc: pycrdt.Doc = pycrdt.Doc()
        doc.get("note", type=pycrdt.Text).insert(0, "still works")
        room.handle(honest, protocol.encode_sync_update(doc.get_update()))
        assert str(room.doc.get("note", type=pycrdt.Text)) == "still works"

    asyncio.run(run())


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_random_frames_are_acted_on_or_refused_by_name(frames: list[bytes]) -> None:
    _handle_all(frames)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_frames_are_acted_on_or_refused_by_name(data: st.DataObject) -> None:
    _handle_all([_mutate(data) for _ in range(data.draw(st.integers(1, 6)))])
