"""What processes serving the same notes say to each other over Redis, as bytes.

Every message starts with its kind (one byte) and the sending process's origin
(16 bytes: a random id per process). A note's messages go on the note's own
channel; what concerns every note of a process goes on the control channel.

=========== ================================ =========================================
kind        body                             meaning
=========== ================================ =========================================
COMMITTED   position (8 bytes), the update   the sender committed this update here
DOORBELL    position (8 bytes)               the same, too large to carry: read the log
PRESENCE    an awareness update              its peers' presence changed
PEERS       count (4 bytes)                  it serves this many peers of the note now
HELLO       (none)                           it just opened the note: say who is here
GONE        (none; control channel)          it is stopping: forget its peers
ACCESS      note (8 bytes; control channel)  the note's links changed: check your peers
NOTICE      position (8 bytes), JSON text    tell the peers that asked for notices (a
                                             restore), once the log is read up to there
=========== ================================ =========================================

Decoding is strict: anything else raises :class:`BadMessage`, so a process of
another version (or anything else publishing on our channels) is logged and
ignored, never half-understood.
"""

from __future__ import annotations

import enum
import struct
import uuid
from dataclasses import dataclass

ORIGIN_BYTES = 16
_HEADER = struct.Struct(">B16s")
_POSITION = struct.Struct(">Q")
_COUNT = struct.Struct(">I")


class Kind(enum.IntEnum):
    COMMITTED = 1
    DOORBELL = 2
    PRESENCE = 3
    PEERS = 4
    HELLO = 5
    GONE = 6
    ACCESS = 7
    NOTICE = 8


class BadMessage(ValueError):
    """Bytes on one of our channels that are not a message of ours."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    origin: str  # the sender's id, as hex
    position: int = 0  # COMMITTED, DOORBELL, NOTICE; the note for ACCESS
    count: int = 0  # PEERS
    payload: bytes = b""  # COMMITTED: the update; PRESENCE: the awareness update; NOTICE: UTF-8


def new_origin() -> str:
    """A fresh id for this process."""
    return uuid.uuid4().hex


def encode(message: Message) -> bytes:
    head = _HEADER.pack(message.kind, bytes.fromhex(message.origin))
    kind = message.kind
    if kind in _POSITIONED:
        return head + _POSITION.pack(message.position) + message.payload
    if kind is Kind.PEERS:
        return head + _COUNT.pack(message.count)
    return head + message.payload


def decode(data: bytes) -> Message:
    """The message in ``data``; raises BadMessage if it is not one."""
    if len(data) < _HEADER.size:
        raise BadMessage(f"{len(data)} bytes: too short for a message")
    raw_kind, raw_origin = _HEADER.unpack_from(data)
    try:
        kind = Kind(raw_kind)
    except ValueError:
        raise BadMessage(f"unknown message kind {raw_kind}") from None
    origin = raw_origin.hex()
    body = data[_HEADER.size :]
    if kind in _POSITIONED:
        return _positioned(kind, origin, body)
    if kind is Kind.PEERS:
        if len(body) != _COUNT.size:
            raise BadMessage(f"PEERS: {len(body)} bytes, not {_COUNT.size}")
        return Message(kind, origin, count=_COUNT.unpack(body)[0])
    if kind is Kind.PRESENCE:
        if not body:
            raise BadMessage("PRESENCE without an update")
        return Message(kind, origin, payload=body)
    if body:
        raise BadMessage(f"{kind.name}: {len(body)} unexpected bytes")
    return Message(kind, origin)


_POSITIONED = (Kind.COMMITTED, Kind.DOORBELL, Kind.ACCESS, Kind.NOTICE)
_CARRYING = (Kind.COMMITTED, Kind.NOTICE)  # a position, then a payload they cannot lack


def _positioned(kind: Kind, origin: str, body: bytes) -> Message:
    if len(body) < _POSITION.size:
        raise BadMessage(f"{kind.name}: no position")
    (position,) = _POSITION.unpack_from(body)
    payload = body[_POSITION.size :]
    if kind in _CARRYING and not payload:
        raise BadMessage(f"{kind.name} without its payload")
    if kind not in _CARRYING and payload:
        raise BadMessage(f"{kind.name}: {len(payload)} unexpected bytes")
    if kind is Kind.NOTICE:
        try:
            payload.decode()
        except UnicodeDecodeError:
            raise BadMessage("NOTICE: not UTF-8") from None
    return Message(kind, origin, position=position, payload=payload)
