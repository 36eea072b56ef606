"""Presence states: decoding, validation, ownership, and what is relayed."""

from __future__ import annotations

import json

import pycrdt
import pytest

from collab.awareness import AwarenessStates, Entry, decode, encode
from collab.errors import MalformedMessage


def _pycrdt_update(state: dict[str, object]) -> tuple[int, bytes]:
    doc: pycrdt.Doc = pycrdt.Doc()
    aw = pycrdt.Awareness(doc)
    aw.set_local_state(state)
    return doc.client_id, aw.encode_awareness_update([doc.client_id])


def test_a_pycrdt_awareness_update_decodes_to_its_state() -> None:
    client_id, payload = _pycrdt_update({"user": {"name": "Ana"}})
    [entry] = decode(payload, max_state_bytes=1000)
    assert entry.client_id == client_id
    assert json.loads(entry.state or "") == {"user": {"name": "Ana"}}


def test_encode_is_read_back_by_pycrdt() -> None:
    doc: pycrdt.Doc = pycrdt.Doc()
    aw = pycrdt.Awareness(doc)
    aw.apply_awareness_update(encode([Entry(42, 3, '{"a":1}')]), "test")
    assert aw.states[42] == {"a": 1}


@pytest.mark.parametrize(
    ("state", "complaint"),
    [
        ("[1,2]", "not a JSON object"),
        ("nope", "not JSON"),
        ('"text"', "not a JSON object"),
        ("[" * 5000 + "]" * 5000, "not"),
    ],
)
def test_states_that_are_not_json_objects_are_refused(state: str, complaint: str) -> None:
    with pytest.raises(MalformedMessage, match=complaint):
        decode(encode([Entry(1, 1, state)]), max_state_bytes=100_000)


def test_an_oversized_state_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="exceeds"):
        decode(encode([Entry(1, 1, json.dumps({"x": "y" * 200}))]), max_state_bytes=100)


def test_a_client_id_beyond_javascripts_safe_integers_is_refused() -> None:
    with pytest.raises(MalformedMessage, match=r"not below 2\*\*53"):
        decode(encode([Entry(2**53, 1, "{}")]), max_state_bytes=100)


def test_a_count_larger_than_the_payload_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="claims"):
        decode(b"\xff\xff\x03\x01\x01\x02{}", max_state_bytes=100)


def test_null_state_means_removal() -> None:
    [entry] = decode(encode([Entry(5, 2, None)]), max_state_bytes=100)
    assert entry.state is None


def test_only_entries_whose_clock_advanced_are_relayed() -> None:
    states, owner = AwarenessStates(clock_base=0), object()
    assert states.apply([Entry(1, 1, '{"a":1}')], owner) == [Entry(1, 1, '{"a":1}')]
    assert states.apply([Entry(1, 1, '{"a":1}')], owner) == []  # the echo stops here
    assert states.apply([Entry(1, 0, '{"a":0}')], owner) == []  # an old clock too
    assert states.apply([Entry(1, 2, '{"a":1}')], owner) == [Entry(1, 2, '{"a":1}')]  # renewal


def test_a_connection_cannot_set_another_connections_client_id() -> None:
    states, alice, mallory = AwarenessStates(clock_base=0), object(), object()
    states.apply([Entry(1, 1, '{"name":"Alice"}')], alice)
    assert states.apply([Entry(1, 9, '{"name":"Mallory"}')], mallory) == []
    assert states.apply([Entry(1, 9, None)], mallory) == []
    assert states.states() == {1: '{"name":"Alice"}'}


def test_removing_an_owner_removes_its_states_with_a_newer_clock() -> None:
    states, alice, bob = AwarenessStates(clock_base=0), object(), object()
    states.apply([Entry(1, 4, "{}")], alice)
    states.apply([Entry(2, 1, "{}")], bob)
    assert states.remove_owner(alice) == [Entry(1, 5, None)]
    assert list(states.states()) == [2]


def test_a_client_returning_with_its_old_clock_is_relayed_past_its_removal() -> None:
    states, first, second = AwarenessStates(clock_base=0), object(), object()
    states.apply([Entry(1, 4, "{}")], first)
    assert states.remove_owner(first) == [Entry(1, 5, None)]
    assert states.apply([Entry(1, 4, "{}")], second) == [Entry(1, 6, "{}")]
    assert states.apply([Entry(1, 5, '{"a":1}')], second) == [Entry(1, 7, '{"a":1}')]
    assert states.apply([Entry(1, 5, '{"a":1}')], second) == []


def test_a_client_id_released_by_its_owner_can_be_taken_by_a_new_connection() -> None:
    states, old, new = AwarenessStates(clock_base=0), object(), object()
    states.apply([Entry(1, 3, "{}")], old)
    assert states.apply([Entry(1, 3, None)], old) == [Entry(1, 3, None)]  # leaving
    assert states.apply([Entry(1, 3, '{"back":true}')], new) == [Entry(1, 4, '{"back":true}')]
    assert states.remove_owner(old) == []  # the old socket closing changes nothing
    assert states.states() == {1: '{"back":true}'}


def test_a_new_room_relays_clocks_past_any_an_earlier_room_relayed() -> None:
    before, owner = AwarenessStates(clock_base=0), object()
    [old] = before.apply([Entry(1, 7, "{}")], owner)
    after = AwarenessStates()  # after a restart: clocks start at the time in milliseconds
    [new] = after.apply([Entry(1, 7, "{}")], owner)
    assert new.clock > old.clock + 1_000_000
    assert after.apply([Entry(1, 8, "{}")], owner) == [Entry(1, new.clock + 1, "{}")]


def test_a_returning_client_gets_the_others_with_advanced_clocks() -> None:
    states, ana, ben_before, ben_after = AwarenessStates(clock_base=0), *(object() for _ in "abc")
    states.apply([Entry(1, 3, '{"n":"ana"}')], ana)
    states.apply([Entry(2, 5, '{"n":"ben"}')], ben_before)
    assert not states.returning([Entry(2, 6, "{}")], ben_before)  # same connection
    states.remove_owner(ben_before)
    assert states.returning([Entry(2, 5, '{"n":"ben"}')], ben_after)
    assert not states.returning([Entry(9, 1, "{}")], ben_after)  # never seen: a newcomer
    states.apply([Entry(2, 5, '{"n":"ben"}')], ben_after)
    assert states.advance_others(ben_after) == [Entry(1, 4, '{"n":"ana"}')]
    # Ana's own next clock is relayed past the advanced one.
    assert states.apply([Entry(1, 4, '{"n":"ana"}')], ana) == [Entry(1, 5, '{"n":"ana"}')]


def test_a_client_that_moved_between_processes_is_taken_over_not_refused() -> None:
    """Another process's peers own a client id as one owner; when the client reconnects
    through a third process, that process's word takes the id (the first is dead or
    will drop it), where a local connection's claim would be refused."""
    states = AwarenessStates(clock_base=0)
    process_a, process_b, local_peer = object(), object(), object()
    remote = {process_a, process_b}.__contains__
    states.apply([Entry(1, 5, '{"name":"Ana"}')], process_a)
    assert states.apply([Entry(1, 9, '{"name":"Ana?"}')], local_peer) == []  # an echo, say
    [moved] = states.apply([Entry(1, 2, '{"name":"Ana"}')], process_b, takes_from=remote)
    assert moved.clock > 5  # past what the peers saw, or they would ignore it
    assert states.owner_of(1) is process_b
    assert states.remove_owner(process_a) == []  # the dead process no longer holds it
