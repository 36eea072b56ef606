"""lib0 variable-length integers: the one varuint reader every part of the pre-parser uses.

A varuint is little-endian base 128: seven bits a byte, the high bit set on
every byte but the last. lib0 writes at most 53 bits (JavaScript's safe
integers), so more than eight bytes, or a value of 2**53 or more, is refused.
"""

from __future__ import annotations

from typing import Final

from collab.yencoding.model import InvalidUpdate

SAFE_INT: Final = 1 << 53
U32: Final = 1 << 32
MAX_VAR_BYTES: Final = 8


def read_long_uint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a varuint of two or more bytes starting at ``pos``."""
    value = 0
    shift = 0
    end = pos
    while True:
        if end - pos == MAX_VAR_BYTES:
            raise InvalidUpdate(f"varuint longer than 8 bytes at byte {pos}")
        byte = data[end]
        value |= (byte & 0x7F) << shift
        end += 1
        if byte < 0x80:
            break
        shift += 7
    if value >= SAFE_INT:
        raise InvalidUpdate(f"varuint {value} is not below 2**53 at byte {pos}")
    return value, end


def skip_int(data: bytes, pos: int) -> int:
    """Skip a signed varint (lib0 ``writeVarInt``) and return the next offset."""
    byte = data[pos]
    magnitude = byte & 0x3F
    shift = 6
    end = pos + 1
    while byte & 0x80:
        if end - pos == MAX_VAR_BYTES:
            raise InvalidUpdate(f"varint longer than 8 bytes at byte {pos}")
        byte = data[end]
        magnitude |= (byte & 0x7F) << shift
        shift += 7
        end += 1
    if magnitude >= SAFE_INT:
        raise InvalidUpdate(f"varint {magnitude} is not below 2**53 at byte {pos}")
    return end


CLIENT_IDS: dict[bytes, tuple[bytes, int]] = {}
"""Decoded varuints of five bytes or more, by their first four: in practice Yjs
client ids, which recur in every struct and origin of every update a client
sends. A hit is still checked against the whole encoding."""
MEMO_KEPT = 4096
"""Most entries either varuint memo (``CLIENT_IDS``, ``VARUINTS``) holds before
it starts again."""


ONE_BYTE_VARUINTS: Final = {bytes([value]): value for value in range(0x80)}
VARUINTS: dict[bytes, int] = dict(ONE_BYTE_VARUINTS)
"""Varuints decoded from their encodings alone (:func:`decode_varuint`): every
one-byte value, and the client ids and clocks seen lately."""


def read_varuint(data: bytes, pos: int) -> tuple[int, int]:
    """Read one varuint at ``pos``; return ``(value, next offset)``.

    Raises:
        InvalidUpdate: More than eight bytes, or a value of 2**53 or more.
        IndexError: The input ends inside the varuint.
    """
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    return read_long_uint(data, pos)


def decode_varuint(raw: bytes) -> int:
    """The value of one whole varuint encoding (known to be at most eight bytes), memoized."""
    value = VARUINTS.get(raw)
    if value is None:
        value = read_long_uint(raw, 0)[0]
        if len(VARUINTS) >= MEMO_KEPT:
            VARUINTS.clear()
            VARUINTS.update(ONE_BYTE_VARUINTS)
        VARUINTS[raw] = value
    return value


def check_end(data: bytes, pos: int) -> None:
    """Refuse input that stops short of, or runs on past, ``pos``."""
    if pos > len(data):
        raise truncated(data)
    if pos < len(data):
        raise InvalidUpdate(f"{len(data) - pos} trailing bytes after the end at byte {pos}")


def truncated(data: bytes) -> InvalidUpdate:
    return InvalidUpdate(f"input is truncated: unexpected end at byte {len(data)}")


def write_varuint(value: int) -> bytes:
    """Encode a non-negative integer as a varuint."""
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)
