"""The y-websocket wire protocol as pure functions: bytes in, messages or bytes out.

A frame is one message: a varuint message type, then a type-specific body.

* ``0`` sync: a varuint sync type (step 1, step 2, update) and one length-prefixed
  payload (a state vector for step 1, a Yjs v1 update otherwise).
* ``1`` awareness: one length-prefixed awareness update (see :mod:`collab.awareness`).
* ``2`` auth: server to client only; ``0`` then a reason string means "permission denied".
* ``3`` query-awareness: no body; the answer is every known awareness state.
* ``100`` collab-notes save acknowledgements, an opt-in extension: a client sends
  ``100, 0, k`` (a marker) after its edits; once every edit the server received
  before the marker is committed to disk, the server answers ``100, 1, k``.
  Stock clients never send markers, so they never receive acks.
* ``101`` collab-notes notices, an opt-in extension: a client sends ``101, 0``
  ("tell me"); the server then sends it ``101, 1, s``, ``s`` a length-prefixed
  JSON object saying what someone did to the note (restored a version, undid a
  restore, commented: ``web.routes.comments``). Stock clients never ask, so they
  never receive one.

Nothing here touches a socket or a document, so every rule can be tested on byte strings.
Payloads are checked by :mod:`collab.yencoding` before anything hands them to pycrdt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from collab.errors import MalformedMessage
from collab.yencoding import (
    DEFAULT_LIMITS,
    InvalidUpdate,
    Limits,
    UpdateInfo,
    check_state_vector,
    check_update,
)
from collab.yencoding.varint import read_varuint

_NO_INFO = UpdateInfo(0, 0)


class MessageType(IntEnum):
    """The first varuint of every y-websocket frame."""

    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    SAVE = 100
    NOTICE = 101


class SaveType(IntEnum):
    """The second varuint of a save-acknowledgement frame."""

    MARKER = 0
    ACK = 1


class NoticeType(IntEnum):
    """The second varuint of a notice frame."""

    SUBSCRIBE = 0
    NOTICE = 1


class SyncType(IntEnum):
    """The second varuint of a sync frame."""

    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


AUTH_PERMISSION_DENIED = 0


@dataclass(frozen=True, slots=True)
class SyncStep1:
    """A peer's state vector: "send me what I am missing"."""

    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    """What the sender of a step 1 was missing, as one Yjs update."""

    update: bytes
    info: UpdateInfo = field(default=_NO_INFO, compare=False)


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """An incremental Yjs update, and what the pre-parser learned of it."""

    update: bytes
    info: UpdateInfo = field(default=_NO_INFO, compare=False)


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    """An encoded awareness update, not yet decoded."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class Auth:
    """An auth message; only servers send these, so a peer's is ignored."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """A request for every awareness state the server knows."""


@dataclass(frozen=True, slots=True)
class SaveMarker:
    """A client's request: "tell me when what I sent before this is on disk"."""

    marker: int


@dataclass(frozen=True, slots=True)
class NoticeSubscribe:
    """A client's request: "tell me what others do to the note" (notices)."""


Message = (
    SyncStep1
    | SyncStep2
    | SyncUpdate
    | AwarenessUpdate
    | Auth
    | QueryAwareness
    | SaveMarker
    | NoticeSubscribe
)


class Reader:
    """A bounds-checked cursor over one frame.

    Every read checks against what remains, so a claimed length can never make
    the reader allocate or look past the end of the frame.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def varuint(self) -> int:
        """Read one unsigned LEB128 integer of at most eight bytes, below 2**53."""
        pos, data = self.pos, self.data
        if pos < len(data) and data[pos] < 0x80:  # one byte: types, small lengths
            self.pos = pos + 1
            return data[pos]
        try:
            value, self.pos = read_varuint(data, pos)
        except IndexError:
            raise MalformedMessage(f"truncated integer at byte {pos}") from None
        except InvalidUpdate as error:
            raise MalformedMessage(str(error)) from None
        return value

    def payload(self) -> bytes:
        """Read one varuint-length-prefixed byte string."""
        length = self.varuint()
        if length > self.remaining:
            raise MalformedMessage(f"length {length} exceeds the {self.remaining} bytes left")
        start = self.pos
        self.pos += length
        return self.data[start : self.pos]

    def string(self) -> str:
        """Read one varuint-length-prefixed UTF-8 string."""
        try:
            return self.payload().decode()
        except UnicodeDecodeError as error:
            raise MalformedMessage(f"invalid UTF-8 at byte {self.pos}") from error

    def end(self) -> None:
        """Require that the whole frame was read."""
        if self.remaining:
            raise MalformedMessage(f"{self.remaining} unexpected bytes after the message")


def parse_message(frame: bytes, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Parse and check one frame.

    Args:
        frame: One binary websocket message.
        limits: Bounds for the Yjs payloads inside sync messages.

    Returns:
        The message; a sync payload in it has passed :mod:`collab.yencoding`'s checks.

    Raises:
        MalformedMessage: The frame is not one well-formed message of a known type.
    """
    if frame[:2] == _SHORT_UPDATE and 3 < len(frame) == 3 + frame[2] < 3 + 0x80:
        return _parse_short_update(frame, limits)  # a keystroke, most of what arrives
    reader = Reader(frame)
    match reader.varuint():
        case MessageType.SYNC:
            message = _parse_sync(reader, limits)
        case MessageType.AWARENESS:
            message = AwarenessUpdate(reader.payload())
        case MessageType.AUTH:
            message = Auth(frame[reader.pos :])
            reader.pos = len(frame)
        case MessageType.QUERY_AWARENESS:
            message = QueryAwareness()
        case MessageType.SAVE:
            message = _parse_save(reader)
        case MessageType.NOTICE:
            if reader.varuint() != NoticeType.SUBSCRIBE:
                raise MalformedMessage("clients send notice subscriptions only")
            message = NoticeSubscribe()
        case other:
            raise MalformedMessage(f"unknown message type {other}")
    reader.end()
    return message


def edit_payload(frame: bytes) -> tuple[bool, bytes]:
    """A sync step 2 or update frame's payload, unchecked (True for a step 2).

    For a payload that is then checked a slice at a time (collab/sliced.py).

    Raises:
        MalformedMessage: The frame is not one sync step 2 or update message.
    """
    reader = Reader(frame)
    if reader.varuint() != MessageType.SYNC:
        raise MalformedMessage("not a sync message")
    sync_type = reader.varuint()
    if sync_type not in (SyncType.STEP2, SyncType.UPDATE):
        raise MalformedMessage(f"sync message type {sync_type} carries no edit")
    payload = reader.payload()
    reader.end()
    return sync_type == SyncType.STEP2, payload


def _parse_sync(reader: Reader, limits: Limits) -> Message:
    sync_type = reader.varuint()
    payload = reader.payload()
    try:
        match sync_type:
            case SyncType.STEP1:
                check_state_vector(payload, limits)
                return SyncStep1(payload)
            case SyncType.STEP2:
                return SyncStep2(payload, check_update(payload, limits))
            case SyncType.UPDATE:
                return SyncUpdate(payload, check_update(payload, limits))
            case _:
                raise MalformedMessage(f"unknown sync message type {sync_type}")
    except InvalidUpdate as error:
        raise MalformedMessage(f"invalid Yjs payload: {error}") from error


_SHORT_UPDATE = bytes([MessageType.SYNC, SyncType.UPDATE])
"""How a sync update begins; one shorter than 128 bytes then has a one-byte length."""


def _parse_short_update(frame: bytes, limits: Limits) -> SyncUpdate:
    update = frame[3:]
    try:
        return SyncUpdate(update, check_update(update, limits))
    except InvalidUpdate as error:
        raise MalformedMessage(f"invalid Yjs payload: {error}") from error


def _parse_save(reader: Reader) -> SaveMarker:
    save_type = reader.varuint()
    if save_type != SaveType.MARKER:
        raise MalformedMessage(f"clients send save markers only, not save type {save_type}")
    return SaveMarker(reader.varuint())


def write_varuint(value: int) -> bytes:
    """Encode an unsigned integer as LEB128, as lib0 does."""
    if value < 0:
        raise ValueError(f"varuint cannot encode the negative number {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _with_length(payload: bytes) -> bytes:
    return write_varuint(len(payload)) + payload


def encode_sync_step1(state_vector: bytes) -> bytes:
    """Encode a sync step 1 frame."""
    return bytes((MessageType.SYNC, SyncType.STEP1)) + _with_length(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    """Encode a sync step 2 frame."""
    return bytes((MessageType.SYNC, SyncType.STEP2)) + _with_length(update)


def encode_sync_update(update: bytes) -> bytes:
    """Encode a sync update frame."""
    return bytes((MessageType.SYNC, SyncType.UPDATE)) + _with_length(update)


def encode_awareness(payload: bytes) -> bytes:
    """Encode an awareness frame around an encoded awareness update."""
    return bytes((MessageType.AWARENESS,)) + _with_length(payload)


def encode_query_awareness() -> bytes:
    """Encode a query-awareness frame."""
    return bytes((MessageType.QUERY_AWARENESS,))


def encode_save_marker(marker: int) -> bytes:
    """Encode a client's save marker (for tests and clients)."""
    return bytes((MessageType.SAVE, SaveType.MARKER)) + write_varuint(marker)


def encode_save_ack(marker: int) -> bytes:
    """Encode the server's answer: everything before ``marker`` is committed."""
    return bytes((MessageType.SAVE, SaveType.ACK)) + write_varuint(marker)


def encode_notice(notice: str) -> bytes:
    """Encode a notice (JSON text) for a client that subscribed to them."""
    return bytes((MessageType.NOTICE, NoticeType.NOTICE)) + _with_length(notice.encode())


def encode_notice_subscribe() -> bytes:
    """Encode a client's subscription to notices (for tests and clients)."""
    return bytes((MessageType.NOTICE, NoticeType.SUBSCRIBE))


def encode_permission_denied(reason: str) -> bytes:
    """Encode the auth message that tells a peer it may not do what it tried."""
    header = bytes((MessageType.AUTH, AUTH_PERMISSION_DENIED))
    return header + _with_length(reason.encode())
