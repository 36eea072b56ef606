"""The y-websocket protocol on byte strings, checked against pycrdt's own encoders."""

from __future__ import annotations

import pycrdt
import pytest

from collab import protocol
from collab.errors import MalformedMessage
from collab.protocol import (
    Auth,
    AwarenessUpdate,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    parse_message,
)


def _doc_with(text: str) -> pycrdt.Doc:
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc


def test_a_pycrdt_sync_step1_parses_to_its_state_vector() -> None:
    doc = _doc_with("hello")
    assert parse_message(pycrdt.create_sync_message(doc)) == SyncStep1(doc.get_state())


def test_a_pycrdt_update_message_parses_to_its_update() -> None:
    update = _doc_with("hi").get_update()
    assert parse_message(pycrdt.create_update_message(update)) == SyncUpdate(update)


def test_the_step2_pycrdt_answers_parses_as_step2() -> None:
    doc = _doc_with("abc")
    reply = pycrdt.handle_sync_message(pycrdt.create_sync_message(pycrdt.Doc())[1:], doc)
    assert reply is not None
    assert parse_message(reply) == SyncStep2(doc.get_update(pycrdt.Doc().get_state()))


def test_our_encoders_round_trip_through_the_parser() -> None:
    update = _doc_with("x").get_update()
    assert parse_message(protocol.encode_sync_step1(b"\x00")) == SyncStep1(b"\x00")
    assert parse_message(protocol.encode_sync_step2(update)) == SyncStep2(update)
    assert parse_message(protocol.encode_sync_update(update)) == SyncUpdate(update)
    assert parse_message(protocol.encode_awareness(b"\x00")) == AwarenessUpdate(b"\x00")
    assert parse_message(protocol.encode_query_awareness()) == QueryAwareness()


def test_our_encoders_match_pycrdt_byte_for_byte() -> None:
    doc = _doc_with("same bytes")
    assert protocol.encode_sync_step1(doc.get_state()) == pycrdt.create_sync_message(doc)
    assert protocol.encode_sync_update(doc.get_update()) == pycrdt.create_update_message(
        doc.get_update()
    )


def test_save_markers_round_trip_and_acks_are_not_accepted_from_clients() -> None:
    assert parse_message(protocol.encode_save_marker(300)) == protocol.SaveMarker(300)
    assert protocol.encode_save_ack(300) == b"\x64\x01\xac\x02"
    with pytest.raises(MalformedMessage, match="save markers only"):
        parse_message(protocol.encode_save_ack(1))


def test_an_auth_message_is_recognised_whatever_it_carries() -> None:
    assert isinstance(parse_message(protocol.encode_permission_denied("no")), Auth)


def test_permission_denied_is_encoded_as_y_protocols_expects() -> None:
    assert protocol.encode_permission_denied("read only") == b"\x02\x00\x09read only"


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        (b"", "truncated"),
        (b"\x07", "unknown message type 7"),
        (b"\x00\x05\x00", "unknown sync message type 5"),
        (b"\x00\x00", "truncated"),
        (b"\x00\x02\x10\x00\x00", "exceeds"),
        (b"\x01\x05ab", "exceeds"),
        (b"\x00\x02\x02\x00\x00\xff", "unexpected bytes"),
        (b"\x03\x00", "unexpected bytes"),
        (b"\x80" * 9, "longer than 8 bytes"),
        (b"\x00\x02\x03\x00\x00\x07", "invalid Yjs payload"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frame: bytes, complaint: str) -> None:
    with pytest.raises(MalformedMessage, match=complaint):
        parse_message(frame)


def test_a_length_byte_that_starts_a_longer_varuint_is_not_read_as_the_length() -> None:
    doc = pycrdt.Doc(client_id=5)
    text = doc.get("t", type=pycrdt.Text)
    text.insert(0, "a")
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text.insert(1, "b" * 120)
    (update,) = updates
    assert 0x80 <= len(update) < 0x100
    # 0x80 and up is the first byte of a two-byte length, which then claims one
    # byte more than the frame has; the frame size matching the byte means nothing.
    with pytest.raises(MalformedMessage, match="exceeds"):
        parse_message(b"\x00\x02" + bytes([len(update)]) + update)


def test_a_300_kb_varuint_is_refused_after_eight_bytes() -> None:
    frame = b"\x01" + b"\xff" * 300_000 + b"\x00"
    with pytest.raises(MalformedMessage, match="longer than 8 bytes"):
        parse_message(frame)


def test_a_state_vector_claiming_half_a_billion_clients_is_refused() -> None:
    claim = protocol.write_varuint(2**29 - 1)
    with pytest.raises(MalformedMessage, match="invalid Yjs payload"):
        parse_message(protocol.encode_sync_step1(claim + b"\x01\x01"))


def test_write_varuint_encodes_like_lib0() -> None:
    assert protocol.write_varuint(0) == b"\x00"
    assert protocol.write_varuint(127) == b"\x7f"
    assert protocol.write_varuint(128) == b"\x80\x01"
    assert protocol.write_varuint(300) == pycrdt.write_var_uint(300)
    with pytest.raises(ValueError, match="negative"):
        protocol.write_varuint(-1)
