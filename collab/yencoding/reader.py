"""The byte reader under the pre-parser: bounded reads of lib0's primitives.

Every method takes an offset and returns what it read with the next offset, so
the decoder needs no mutable cursor. Reading past the end raises
``IndexError``, which the public functions turn into a truncation error;
anything that could silently read short (slices) is bounds-checked explicitly.
"""

from __future__ import annotations

from collab.yencoding.model import ID, InvalidUpdate, Limits
from collab.yencoding.varint import CLIENT_IDS, MEMO_KEPT, U32, read_long_uint


class ByteReader:
    """Offset-passing reader over one update or state vector."""

    __slots__ = ("data", "max_string", "size", "view")

    def __init__(self, data: bytes, limits: Limits) -> None:
        if len(data) > limits.max_update_bytes:
            raise InvalidUpdate(
                f"input of {len(data)} bytes exceeds the limit of "
                f"{limits.max_update_bytes} at byte 0"
            )
        if not isinstance(data, bytes):  # bytearray / memoryview from a caller
            data = bytes(data)
        self.data = data
        self.size = len(data)
        self.view = memoryview(data)
        self.max_string = limits.max_string_bytes

    # -- primitives ---------------------------------------------------------

    def uint(self, pos: int) -> tuple[int, int]:
        """Read a varuint; return ``(value, next offset)``."""
        byte = self.data[pos]
        if byte < 0x80:
            return byte, pos + 1
        return self.long_uint(pos)

    def long_uint(self, pos: int) -> tuple[int, int]:
        """Read a multi-byte varuint; client-sized ones are memoized."""
        data = self.data
        second = data[pos + 1]
        if second < 0x80:
            return (data[pos] & 0x7F) | (second << 7), pos + 2
        key = data[pos : pos + 4]
        known = CLIENT_IDS.get(key)
        if known is not None and data.startswith(known[0], pos):
            return known[1], pos + len(known[0])
        value, end = read_long_uint(data, pos)
        if end - pos > 4:
            if len(CLIENT_IDS) >= MEMO_KEPT:
                CLIENT_IDS.clear()
            CLIENT_IDS[key] = (data[pos:end], value)
        return value, end

    def u32(self, pos: int, what: str) -> tuple[int, int]:
        """Read a varuint that must fit in 32 bits (a clock or length)."""
        value, end = self.uint(pos)
        if value >= U32:
            raise InvalidUpdate(f"{what} {value} does not fit in 32 bits at byte {pos}")
        return value, end

    def length(self, pos: int, what: str) -> tuple[int, int]:
        """Read a non-zero 32-bit length."""
        value, end = self.u32(pos, what)
        if value == 0:
            raise InvalidUpdate(f"{what} is zero at byte {pos}")
        return value, end

    def count(self, pos: int, what: str, unit: int) -> tuple[int, int]:
        """Read an element count; each element needs at least ``unit`` bytes."""
        value = self.data[pos]
        end = pos + 1
        if value >= 0x80:
            value, end = self.long_uint(pos)
        if value * unit > self.size - end:
            raise InvalidUpdate(
                f"{what} count {value} needs at least {value * unit} bytes "
                f"but only {self.size - end} remain at byte {pos}"
            )
        return value, end

    def ident(self, pos: int, what: str) -> tuple[ID, int]:
        """Read an item id: client, then a 32-bit clock."""
        data = self.data
        client = data[pos]
        if client < 0x80:
            pos += 1
        else:
            client, pos = self.long_uint(pos)
        clock = data[pos]
        if clock < 0x80:
            return (client, clock), pos + 1
        clock, end = self.long_uint(pos)
        if clock >= U32:
            raise InvalidUpdate(f"{what} clock {clock} does not fit in 32 bits at byte {pos}")
        return (client, clock), end

    def span(self, pos: int, what: str) -> tuple[int, int]:
        """Read a length-prefixed byte run; return ``(start, end)`` of the bytes."""
        size = self.data[pos]
        start = pos + 1
        if size >= 0x80:
            size, start = self.long_uint(pos)
        end = start + size
        if end > self.size or size > self.max_string:
            self.bad_span(pos, what, size, start)
        return start, end

    def bad_span(self, pos: int, what: str, size: int, start: int) -> None:
        """Explain why a byte run cannot be read."""
        if size > self.max_string:
            raise InvalidUpdate(
                f"{what} of {size} bytes exceeds the limit of {self.max_string} at byte {pos}"
            )
        raise InvalidUpdate(
            f"{what} claims {size} bytes but only {self.size - start} remain at byte {pos}"
        )

    def text(self, pos: int, what: str) -> tuple[str, int]:
        """Read a varstring and check that it is valid UTF-8."""
        start, end = self.span(pos, what)
        try:
            return str(self.view[start:end], "utf-8"), end
        except UnicodeDecodeError as exc:
            raise InvalidUpdate(f"{what} is not valid UTF-8 at byte {start + exc.start}") from None

    # -- state vector -------------------------------------------------------

    def state_vector(self, pos: int) -> tuple[dict[int, int], int]:
        """Read a state vector: count, then (client, clock) pairs."""
        entries, pos = self.count(pos, "state vector entry", 2)
        clocks: dict[int, int] = {}
        for _ in range(entries):
            at = pos
            (client, clock), pos = self.ident(pos, "state vector")
            if client in clocks:
                raise InvalidUpdate(f"client {client} appears twice at byte {at}")
            clocks[client] = clock
        return clocks, pos
