"""cluster.messages: every kind survives a round trip; anything else is refused by name."""

from __future__ import annotations

import struct

import pytest

from cluster.messages import ORIGIN_BYTES, BadMessage, Kind, Message, decode, encode, new_origin

ORIGIN = new_origin()
HEADER = bytes.fromhex(ORIGIN)  # what follows a message's kind byte
POSITION = struct.pack(">Q", 7)


def raw(kind: int, body: bytes = b"") -> bytes:
    return bytes([kind]) + HEADER + body


@pytest.mark.parametrize(
    "message",
    [
        Message(Kind.COMMITTED, ORIGIN, position=1, payload=b"\x01\x02"),
        Message(Kind.COMMITTED, ORIGIN, position=2**64 - 1, payload=b"x" * 70_000),
        Message(Kind.DOORBELL, ORIGIN, position=12),
        Message(Kind.PRESENCE, ORIGIN, payload=b"\x01\x00"),
        Message(Kind.PEERS, ORIGIN, count=0),
        Message(Kind.PEERS, ORIGIN, count=2**32 - 1),
        Message(Kind.HELLO, ORIGIN),
        Message(Kind.GONE, ORIGIN),
        Message(Kind.ACCESS, ORIGIN, position=42),
        Message(Kind.NOTICE, ORIGIN, position=3, payload=b'{"restored": "Ana"}'),
    ],
    ids=lambda message: message.kind.name,
)
def test_every_kind_of_message_decodes_to_what_was_encoded(message: Message) -> None:
    assert decode(encode(message)) == message


def test_a_message_starts_with_its_kind_and_the_senders_origin() -> None:
    data = encode(Message(Kind.DOORBELL, ORIGIN, position=7))
    assert data == bytes([Kind.DOORBELL]) + HEADER + POSITION
    assert len(HEADER) == ORIGIN_BYTES


def test_origins_are_new_for_each_process_and_fit_the_header() -> None:
    first, second = new_origin(), new_origin()
    assert first != second
    assert len(bytes.fromhex(first)) == ORIGIN_BYTES


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "0 bytes: too short for a message"),
        (raw(Kind.HELLO)[:-1], "16 bytes: too short for a message"),
        (raw(0), "unknown message kind 0"),
        (raw(9), "unknown message kind 9"),
        (raw(Kind.COMMITTED), "COMMITTED: no position"),
        (raw(Kind.COMMITTED, POSITION[:-1]), "COMMITTED: no position"),
        (raw(Kind.COMMITTED, POSITION), "COMMITTED without its payload"),
        (raw(Kind.NOTICE), "NOTICE: no position"),
        (raw(Kind.NOTICE, POSITION), "NOTICE without its payload"),
        (raw(Kind.NOTICE, POSITION + b"\xff\xfe"), "NOTICE: not UTF-8"),
        (raw(Kind.DOORBELL), "DOORBELL: no position"),
        (raw(Kind.DOORBELL, POSITION + b"x"), "DOORBELL: 1 unexpected bytes"),
        (raw(Kind.ACCESS, b"\x00" * 4), "ACCESS: no position"),
        (raw(Kind.ACCESS, POSITION + b"xy"), "ACCESS: 2 unexpected bytes"),
        (raw(Kind.PEERS), "PEERS: 0 bytes, not 4"),
        (raw(Kind.PEERS, b"\x00" * 5), "PEERS: 5 bytes, not 4"),
        (raw(Kind.PRESENCE), "PRESENCE without an update"),
        (raw(Kind.HELLO, b"x"), "HELLO: 1 unexpected bytes"),
        (raw(Kind.GONE, b"xyz"), "GONE: 3 unexpected bytes"),
    ],
)
def test_bytes_that_are_not_a_message_of_ours_are_refused_saying_why(
    data: bytes, reason: str
) -> None:
    with pytest.raises(BadMessage) as refused:
        decode(data)
    assert str(refused.value) == reason


def test_a_refusal_is_a_value_error_so_a_listener_can_log_and_ignore_it() -> None:
    assert issubclass(BadMessage, ValueError)
