"""Bounded, non-recursive pre-parser for Yjs v1 updates and state vectors.

pycrdt hands update bytes to yrs, whose decoder is recursive and trusts the
counts it reads. Hostile bytes can therefore kill the whole server process
(stack overflow on deeply nested ``Any`` values) or make it allocate gigabytes
(a 10-byte state vector claiming 2**29 clients). Every update and state vector
received from a peer must pass :func:`check_update` / :func:`check_state_vector`
before it is given to pycrdt.

The checker walks the lib0 v1 encoding once, left to right, with an explicit
stack for nested ``Any`` values, and enforces:

* every varuint is at most 8 bytes long and below 2**53 (lib0's safe range);
* client ids are below 2**53, clocks and lengths below 2**32, and no clock
  range ends at or beyond 2**32;
* every count is small enough for its elements to fit in the bytes that remain
  and every string or byte-string length fits in what remains;
* strings are valid UTF-8;
* ``Any`` values nest at most :attr:`Limits.max_depth` containers deep;
* unknown struct kinds, content refs, type refs and ``Any`` tags are refused,
  as is truncated input and anything after the end;
* an item's origin, right origin or parent id never points at its own
  client's current or later clocks (no encoder can produce that, and yrs
  crashes on it once a later struct overlaps the target).

Well-formed is not enough on its own: yrs also crashes when updates it has
to hold back as "pending" overlap. :func:`check_applicable` refuses updates
that would be held back, given the document's state vector.

A few things that Yjs would read are refused on purpose because yrs reads them
differently, so the bytes we checked would not be the bytes yrs parses:
JSON content (ref 2; yrs reads one string more than the count says), the
XmlHook type (ref 5; yrs does not read the hook name that Yjs writes), GC and
Skip structs with flag bits set (yrs compares the whole info byte), and the
yrs-only type refs 7, 9 and 15. Zero-length structs and repeated client
sections are refused too; no Yjs or yrs encoder produces them. Subdocument
content is refused unless :attr:`Limits.allow_subdocuments` is set, because
yrs mishandles deleting it.

Timing (CPython 3.11 on a shared build container, where
``python -m timeit "sum(range(100))"`` reports 1.1 us): a 26-36 byte
pycrdt keystroke update (8-byte client id, origin and right origin, 1-2
byte clocks) checks in 8-9 us with the general reader and 4-5 us on the
keystroke path (:func:`_check_keystroke`), which takes one typed character;
the empty update checks in 2.4 us. A 1.0 MB full-state update of a three-user
document (45,000 structs, 8,000 delete ranges) checks in 170 ms; 1.0 MB
of 70,000 one-character inserts in 225 ms; a 1.35 MB array of 260,000
``Any`` values in 120 ms; a 1 MB single string in 0.1 ms (ASCII) to 2 ms
(CJK and emoji).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple, TypeAlias, cast

ID: TypeAlias = tuple[int, int]
"""An item id: ``(client, clock)``."""

TypeParent: TypeAlias = str | ID | None
"""A root type name, the id of the parent type item, or None if inherited."""

_SAFE_INT: Final = 1 << 53
_U32: Final = 1 << 32
_MAX_VAR_BYTES: Final = 8

_GC: Final = 0
_SKIP: Final = 10
_GC_OR_SKIP: Final = frozenset({_GC, _SKIP})
_TYPE: Final = 7
_HAS_ORIGIN: Final = 0x80
_HAS_RIGHT_ORIGIN: Final = 0x40
_HAS_PARENT_SUB: Final = 0x20
_HAS_ANY_ORIGIN: Final = _HAS_ORIGIN | _HAS_RIGHT_ORIGIN

# Type refs yrs and Yjs agree on: Array, Map, Text, XmlElement, XmlFragment,
# XmlText. XmlElement (3) is followed by its tag name.
_TYPE_REFS: Final = frozenset({0, 1, 2, 3, 4, 6})
_XML_ELEMENT: Final = 3

_ANY_ARRAY: Final = 117
_ANY_OBJECT: Final = 118
_ANY_CONTAINERS: Final = frozenset({_ANY_ARRAY, _ANY_OBJECT})
_ANY_STRING: Final = 119
_ANY_INTEGER: Final = 125
_ANY_BYTES: Final = 116
# Tags followed by a fixed number of bytes: undefined, null, float32,
# float64, bigint, false, true.
_ANY_FIXED: Final = {127: 0, 126: 0, 124: 4, 123: 8, 122: 8, 121: 0, 120: 0}


class InvalidUpdate(ValueError):
    """Raised when bytes are not a well-formed, acceptable update or state vector.

    The message names what is wrong and the byte offset where it was found.
    """


class StaleUpdate(InvalidUpdate):
    """An update that re-sends part of what the document has along with new clocks.

    Honest peers send one when the document moved on between their sync request
    and its reply; the cure is to ask them again (a fresh sync step 1).
    """


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied while checking updates.

    Attributes:
        max_depth: Most containers (arrays/objects) an ``Any`` value may nest;
            a top-level array is depth 1. 32 is far beyond real documents and
            far below the ~25,000 levels at which yrs's decoder overflows an
            8 MB stack (a thread with a smaller stack overflows sooner).
        max_type_depth: Most shared types that may nest inside each other,
            enforced by :class:`TypeDepthTracker`; a type placed directly in
            a root type is depth 1. ``str()`` of the outer type segfaults
            somewhere between 10,000 and 50,000 levels; 16 is plenty for
            notes (a block tree of nested lists and maps).
        max_string_bytes: Largest single string or byte string (text run,
            key, binary blob). A whole note's text can merge into one item in
            a full-state update, so this is sized for a very large note.
        max_update_bytes: Largest update or state vector accepted at all.
            yrs needs roughly 25 bytes of memory per byte of a dense update
            (4 MB of ``null`` values took 97 MB), so this also caps the
            memory one message can make the server allocate.
        allow_subdocuments: Accept subdocument content (ref 9). Off by
            default: when a subdocument item is deleted next to other
            deleted content, yrs 0.28 (pycrdt 0.14.13) reads freed memory
            while committing, even for pycrdt's own local edits (valgrind).
    """

    max_depth: int = 32
    max_type_depth: int = 16
    max_string_bytes: int = 4 * 1024 * 1024
    max_update_bytes: int = 8 * 1024 * 1024
    allow_subdocuments: bool = False


DEFAULT_LIMITS: Final = Limits()
"""The limits used when none are given."""


class UpdateInfo(NamedTuple):
    """What :func:`check_update` learned about a well-formed update.

    Immutable; a ``NamedTuple`` rather than a frozen dataclass because it is
    built once per keystroke and a tuple is several times cheaper to make.

    Attributes:
        struct_count: Structs (items, GC and Skip) in the struct section.
        delete_range_count: Ranges in the delete set.
        type_items: For every item whose content is a shared type, in the
            order they appear: its id and its parent (root name, parent item
            id, or None when the parent is inherited from an origin).
        type_siblings: Parallel to ``type_items``: for items whose parent is
            inherited, the id of the origin (or, without one, the right
            origin) the parent is inherited from; otherwise None.
        clocks: ``(client, start, end)`` for each client block: the clock
            of its first struct and the clock after its last one.
        holes: ``(client, clock)`` for each block with Skip structs: the
            clock after its last Skip. Skipped clocks are not in the update,
            so the document must already hold them.
        references: ``(client, clock)``: for each client that an origin,
            right origin, parent id or delete range points into, one past the
            highest clock it touches.
    """

    struct_count: int
    delete_range_count: int
    type_items: tuple[tuple[ID, TypeParent], ...] = ()
    type_siblings: tuple[ID | None, ...] = ()
    clocks: tuple[tuple[int, int, int], ...] = ()
    holes: tuple[tuple[int, int], ...] = ()
    references: tuple[tuple[int, int], ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the update carries no structs and no deletions."""
        return self.struct_count == 0 and self.delete_range_count == 0


def check_state_vector(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Check that ``data`` is exactly one well-formed state vector.

    Args:
        data: Encoded state vector: a count, then (client, clock) pairs.
        limits: Bounds to enforce.

    Raises:
        InvalidUpdate: If the bytes are malformed, out of range, truncated,
            repeat a client, or are followed by trailing bytes.
    """
    decode_state_vector(data, limits)


def decode_state_vector(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[int, int]:
    """Check a state vector like :func:`check_state_vector` and return it.

    Args:
        data: Encoded state vector, e.g. from ``pycrdt.Doc.get_state()``.
        limits: Bounds to enforce.

    Returns:
        Each client's next clock, i.e. how many of its clocks are known.

    Raises:
        InvalidUpdate: As :func:`check_state_vector`.
    """
    reader = _Reader(data, limits)
    try:
        clocks, pos = reader.state_vector(0)
    except IndexError:
        raise _truncated(data) from None
    _check_end(data, pos)
    return clocks


def check_update(data: bytes, limits: Limits = DEFAULT_LIMITS) -> UpdateInfo:
    """Check that ``data`` is exactly one well-formed Yjs v1 update.

    Args:
        data: Encoded update: struct section followed by a delete set.
        limits: Bounds to enforce.

    Returns:
        Counts and the shared-type items the update creates.

    Raises:
        InvalidUpdate: If the bytes are malformed, exceed a limit, use an
            unsupported encoding, are truncated, or have trailing bytes.
    """
    return _check_keystroke(data, limits) or _read_update(data, limits)


def _read_update(data: bytes, limits: Limits) -> UpdateInfo:
    """:func:`check_update` for any update, with the general reader."""
    reader = _Reader(data, limits)
    try:
        structs, pos = reader.struct_section(0)
        ranges, pos = reader.delete_set(pos)
    except IndexError:
        raise _truncated(data) from None
    _check_end(data, pos)
    return UpdateInfo(
        structs,
        ranges,
        tuple(reader.types),
        tuple(reader.siblings),
        tuple(reader.clocks),
        tuple(reader.holes.items()),
        tuple(reader.needs.items()),
    )


# A typed character, as every Yjs and yrs client encodes it: one client block of one
# string item placed by its origin and/or right origin, and no deletions. It is most
# of what a server receives, so it has a path of its own: one regular expression
# instead of a dozen method calls. Anything unusual about it (a limit, a long clock,
# a self-reference, bad UTF-8) is left to the general reader, which names the fault.
_VARUINT: Final = rb"([\x80-\xff]{0,7}[\x00-\x7f])"
_ID: Final = _VARUINT + _VARUINT
_KEYSTROKE: Final = re.compile(
    rb"\x01\x01"
    + _ID  # one client, one struct, starting at client:clock
    + rb"(?:\x84"
    + _ID
    + rb"|\xc4"
    + _ID
    + _ID
    + rb"|\x44"
    + _ID
    + rb")"  # string item
    + _VARUINT,  # the string's byte length; its bytes and an empty delete set follow
    re.DOTALL,
)
_KEYSTROKE_MAX_BYTES: Final = 512
_ONE_BYTE_VARUINTS: Final = {bytes([value]): value for value in range(0x80)}
_VARUINTS: dict[bytes, int] = dict(_ONE_BYTE_VARUINTS)
"""Varuints the keystroke path decoded, by their encoding: every one-byte value,
and the client ids and clocks seen lately."""


def _check_keystroke(data: bytes, limits: Limits) -> UpdateInfo | None:
    """:func:`check_update` for one typed character; None for anything else."""
    if (
        not isinstance(data, bytes)
        or data[-1:] != b"\x00"
        or len(data) > min(_KEYSTROKE_MAX_BYTES, limits.max_update_bytes)
    ):
        return None
    match = _KEYSTROKE.match(data)
    if match is None:
        return None
    fields = tuple(filter(None, match.groups()))
    known = list(map(_VARUINTS.get, fields))
    values = cast("list[int]", known) if None not in known else list(map(_varuint, fields))
    client, clock, *targets, size = values
    start = match.end()
    if start + size + 1 != len(data) or not 0 < size <= limits.max_string_bytes:
        return None
    try:
        text = str(data[start : start + size], "utf-8")
    except UnicodeDecodeError:
        return None
    end = clock + (len(text) if text.isascii() else len(text.encode("utf-16-le")) >> 1)
    if client >= _SAFE_INT or end >= _U32:
        return None
    # The origin, then a right origin if there is one, each refused if the reader would
    # refuse it. Written out: a loop with a dict, as the reader does, costs half of what
    # this path saves (7k of 15k instructions an edit, callgrind).
    target, target_clock = targets[0], targets[1]
    if target >= _SAFE_INT or target_clock >= _U32 or (target == client and target_clock >= clock):
        return None
    if len(targets) == 2:
        references: tuple[tuple[int, int], ...] = ((target, target_clock + 1),)
    else:
        right, right_clock = targets[2], targets[3]
        if right >= _SAFE_INT or right_clock >= _U32 or (right == client and right_clock >= clock):
            return None
        if right != target:
            references = ((target, target_clock + 1), (right, right_clock + 1))
        else:
            references = ((target, max(target_clock, right_clock) + 1),)
    return UpdateInfo(1, 0, (), (), ((client, clock, end),), (), references)


def _varuint(raw: bytes) -> int:
    value = _VARUINTS.get(raw)
    if value is None:
        value = 0
        for shift, byte in enumerate(raw):
            value |= (byte & 0x7F) << (7 * shift)
        if len(_VARUINTS) >= _MEMO_KEPT:
            _VARUINTS.clear()
            _VARUINTS.update(_ONE_BYTE_VARUINTS)
        _VARUINTS[raw] = value
    return value


def check_applicable(
    info: UpdateInfo, state: Mapping[int, int], *, allow_overlap: bool = False
) -> None:
    """Refuse an update that the document cannot take in cleanly right now.

    Well-formed updates can still crash yrs (the one in pycrdt 0.14.13)
    through its integration logic, which trusts that updates are honest:

    * Structs whose predecessors or references are missing are kept as
      "pending" and later updates are merged into them; two hostile pending
      updates that overlap segfault or double-free the process. So an update
      must start at or below the document's clock for each client, must not
      skip clocks the document lacks, and may only refer to (or delete)
      clocks that the document or the update itself holds.
    * A block that starts below the document's clock but ends above it
      re-sends clocks the document already has along with new ones. yrs
      trusts that the old part carries the same content and splices the new
      part onto it; a hostile re-send with different content corrupts the
      item list (use after free, found by fuzzing). Such blocks are refused
      unless ``allow_overlap``. Blocks the document already holds entirely
      are fine (yrs skips them without integrating), so plain re-sends
      pass. Honest peers straddle only when the document moved on between
      a sync request and its reply; the peer then has to resync.

    Args:
        info: Result of :func:`check_update`.
        state: The document's state vector, e.g.
            ``decode_state_vector(doc.get_state())``.
        allow_overlap: Accept blocks that straddle the document's clock.

    Raises:
        InvalidUpdate: If the update would be left pending, or straddles the
            document's clock while ``allow_overlap`` is false.
    """
    known: dict[int, int] = {}  # the clocks the document will hold, where the update moves them
    for client, start, end in info.clocks:
        have = state.get(client, 0)
        _check_start(client, (start, end), have, allow_overlap)
        known[client] = max(have, end)
    for client, clock in info.holes:
        if clock > state.get(client, 0):
            raise InvalidUpdate(
                f"update skips clocks of client {client} up to {clock - 1} "
                f"that the document lacks; it would be left pending"
            )
    for client, clock in info.references:
        if clock > known.get(client, state.get(client, 0)):
            raise InvalidUpdate(
                f"update refers to {client}:{clock - 1}, which neither the document "
                f"nor the update holds; it would be left pending"
            )


def _check_start(client: int, span: tuple[int, int], have: int, allow_overlap: bool) -> None:
    """Refuse a block that leaves a gap, or straddles the document's clock."""
    start, end = span
    if start > have:
        raise InvalidUpdate(
            f"update starts client {client} at clock {start} but the document has "
            f"{have}; it would be left pending"
        )
    if start < have < end and not allow_overlap:
        raise StaleUpdate(
            f"update re-sends clocks {start}-{have - 1} of client {client} along with new "
            f"ones; partly overlapping re-sends are refused"
        )


def _check_end(data: bytes, pos: int) -> None:
    """Refuse input that stops short of, or runs on past, ``pos``."""
    if pos > len(data):
        raise _truncated(data)
    if pos < len(data):
        raise InvalidUpdate(f"{len(data) - pos} trailing bytes after the end at byte {pos}")


def _truncated(data: bytes) -> InvalidUpdate:
    return InvalidUpdate(f"input is truncated: unexpected end at byte {len(data)}")


def _long_uint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a varuint of two or more bytes starting at ``pos``."""
    value = 0
    shift = 0
    end = pos
    while True:
        if end - pos == _MAX_VAR_BYTES:
            raise InvalidUpdate(f"varuint longer than 8 bytes at byte {pos}")
        byte = data[end]
        value |= (byte & 0x7F) << shift
        end += 1
        if byte < 0x80:
            break
        shift += 7
    if value >= _SAFE_INT:
        raise InvalidUpdate(f"varuint {value} is not below 2**53 at byte {pos}")
    return value, end


def _skip_int(data: bytes, pos: int) -> int:
    """Skip a signed varint (lib0 ``writeVarInt``) and return the next offset."""
    byte = data[pos]
    magnitude = byte & 0x3F
    shift = 6
    end = pos + 1
    while byte & 0x80:
        if end - pos == _MAX_VAR_BYTES:
            raise InvalidUpdate(f"varint longer than 8 bytes at byte {pos}")
        byte = data[end]
        magnitude |= (byte & 0x7F) << shift
        shift += 7
        end += 1
    if magnitude >= _SAFE_INT:
        raise InvalidUpdate(f"varint {magnitude} is not below 2**53 at byte {pos}")
    return end


_CLIENT_IDS: dict[bytes, tuple[bytes, int]] = {}
"""Decoded varuints of five bytes or more, by their first four: in practice Yjs
client ids, which recur in every struct and origin of every update a client
sends. A hit is still checked against the whole encoding."""
_MEMO_KEPT = 4096
"""Most entries either varuint memo (``_CLIENT_IDS``, ``_VARUINTS``) holds before
it starts again."""


class _Reader:
    """Offset-passing reader: each method takes an offset and returns the next.

    Reading past the end raises ``IndexError``, which the public functions turn
    into a truncation error; anything that could silently read short (slices)
    is bounds-checked explicitly.
    """

    __slots__ = (
        "clocks",
        "data",
        "holes",
        "max_depth",
        "max_string",
        "needs",
        "siblings",
        "size",
        "subdocs",
        "types",
        "view",
    )

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
        self.max_depth = limits.max_depth
        self.max_string = limits.max_string_bytes
        self.subdocs = limits.allow_subdocuments
        self.types: list[tuple[ID, TypeParent]] = []
        self.siblings: list[ID | None] = []
        self.clocks: list[tuple[int, int, int]] = []
        self.holes: dict[int, int] = {}
        self.needs: dict[int, int] = {}

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
        known = _CLIENT_IDS.get(key)
        if known is not None and data.startswith(known[0], pos):
            return known[1], pos + len(known[0])
        value, end = _long_uint(data, pos)
        if end - pos > 4:
            if len(_CLIENT_IDS) >= _MEMO_KEPT:
                _CLIENT_IDS.clear()
            _CLIENT_IDS[key] = (data[pos:end], value)
        return value, end

    def u32(self, pos: int, what: str) -> tuple[int, int]:
        """Read a varuint that must fit in 32 bits (a clock or length)."""
        value, end = self.uint(pos)
        if value >= _U32:
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
        if clock >= _U32:
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

    # -- struct section -----------------------------------------------------

    def struct_section(self, pos: int) -> tuple[int, int]:
        """Read all client blocks; return ``(struct count, next offset)``."""
        clients, pos = self.count(pos, "client", 3)
        seen: set[int] = set()
        total = 0
        for _ in range(clients):
            structs, pos = self.client_block(pos, seen)
            total += structs
        return total, pos

    def client_block(self, pos: int, seen: set[int]) -> tuple[int, int]:
        """Read one client's structs, tracking its clock."""
        structs, pos = self.count(pos, "struct", 2)
        client_at = pos
        (client, clock), pos = self.ident(pos, "start")
        _first_time(seen, client, client_at)
        start = clock
        data, struct = self.data, self.struct
        for _ in range(structs):
            size, end = struct(pos, client, clock)
            clock += size
            if clock >= _U32:
                raise InvalidUpdate(f"clock of client {client} passes 2**32 at byte {pos}")
            if data[pos] == _SKIP:
                self.holes[client] = clock
            pos = end
        self.clocks.append((client, start, clock))
        return structs, pos

    def struct(self, pos: int, client: int, clock: int) -> tuple[int, int]:
        """Read one struct; return ``(clock length, next offset)``."""
        info = self.data[pos]
        ref = info & 0x1F
        if ref in _GC_OR_SKIP:
            if info != ref:
                raise InvalidUpdate(f"GC/Skip info byte {info:#04x} has flags at byte {pos}")
            return self.length(pos + 1, "GC/Skip length")
        if ref > 9:
            raise InvalidUpdate(f"unknown struct ref {ref} at byte {pos}")
        if info & _HAS_ANY_ORIGIN:
            sibling, pos = self.origins(info, pos + 1, client, clock)
            parent: TypeParent = None
        else:
            parent, pos = self.parent(info, pos + 1, client, clock)
            sibling = None
        if ref == _TYPE:
            self.types.append(((client, clock), parent))
            self.siblings.append(sibling)
        return _CONTENT[ref](self, pos)

    def reference(self, pos: int, what: str, client: int, clock: int) -> tuple[ID, int]:
        """Read an id that item ``client:clock`` refers to.

        An item can only refer to items that existed when it was made, so a
        reference to the same client must have a smaller clock. yrs trusts
        this: a forward self-reference later overlapped by a GC struct makes
        it crash.
        """
        target, end = self.ident(pos, what)
        other, other_clock = target
        if other_clock >= clock and other == client:
            raise InvalidUpdate(
                f"{what} {client}:{other_clock} of item {client}:{clock} does not precede it "
                f"at byte {pos}"
            )
        needs = self.needs
        if needs.get(other, 0) <= other_clock:
            needs[other] = other_clock + 1
        return target, end

    def need(self, client: int, clock: int) -> None:
        """Note that the document must hold ``client``'s clocks below ``clock``."""
        if self.needs.get(client, 0) < clock:
            self.needs[client] = clock

    def origins(self, info: int, pos: int, client: int, clock: int) -> tuple[ID, int]:
        """Read origin and/or right origin; return the one the parent comes from."""
        if info & _HAS_ORIGIN:
            origin, pos = self.reference(pos, "origin", client, clock)
            if info & _HAS_RIGHT_ORIGIN:
                pos = self.reference(pos, "right origin", client, clock)[1]
            return origin, pos
        return self.reference(pos, "right origin", client, clock)

    def parent(self, info: int, pos: int, client: int, clock: int) -> tuple[TypeParent, int]:
        """Read explicit parent info (root name or parent id) and parent key."""
        flag = self.data[pos]
        parent: TypeParent
        if flag == 1:
            parent, end = self.text(pos + 1, "root type name")
        elif flag == 0:
            parent, end = self.reference(pos + 1, "parent", client, clock)
        else:
            raise InvalidUpdate(f"parent flag {self.uint(pos)[0]} is not 0 or 1 at byte {pos}")
        if info & _HAS_PARENT_SUB:
            end = self.text(end, "parent key")[1]
        return parent, end

    # -- item contents: each returns (clock length, next offset) -------------

    def deleted(self, pos: int) -> tuple[int, int]:
        """ContentDeleted: a length."""
        return self.length(pos, "deleted length")

    def json(self, pos: int) -> tuple[int, int]:
        """ContentJSON: refused, because yrs and Yjs decode it differently."""
        raise InvalidUpdate(
            f"JSON content (ref 2) is not accepted (yrs reads one string more than "
            f"Yjs writes) at byte {pos}"
        )

    def binary(self, pos: int) -> tuple[int, int]:
        """ContentBinary: a byte string."""
        return 1, self.span(pos, "binary content")[1]

    def string(self, pos: int) -> tuple[int, int]:
        """ContentString: UTF-8 text whose clock length is in UTF-16 units."""
        value, end = self.text(pos, "string content")
        units = len(value) if value.isascii() else len(value.encode("utf-16-le")) >> 1
        if not units:
            raise InvalidUpdate(f"string content is empty at byte {pos}")
        return units, end

    def embed(self, pos: int) -> tuple[int, int]:
        """ContentEmbed: JSON text."""
        return 1, self.text(pos, "embed")[1]

    def format(self, pos: int) -> tuple[int, int]:
        """ContentFormat: attribute key and JSON value text."""
        end = self.text(pos, "format key")[1]
        return 1, self.text(end, "format value")[1]

    def shared_type(self, pos: int) -> tuple[int, int]:
        """ContentType: a type ref, plus a tag name for XmlElement."""
        type_ref, end = self.uint(pos)
        if type_ref not in _TYPE_REFS:
            raise InvalidUpdate(f"unsupported shared type ref {type_ref} at byte {pos}")
        if type_ref == _XML_ELEMENT:
            end = self.text(end, "XML element name")[1]
        return 1, end

    def any_content(self, pos: int) -> tuple[int, int]:
        """ContentAny: a count, then that many Any values."""
        values, end = self.count(pos, "Any content value", 1)
        if values == 0:
            raise InvalidUpdate(f"Any content is empty at byte {pos}")
        return values, self.any_values(end, values)

    def doc(self, pos: int) -> tuple[int, int]:
        """ContentDoc: a guid, then one Any value of options."""
        if not self.subdocs:
            raise InvalidUpdate(f"subdocument content (ref 9) is not accepted at byte {pos}")
        end = self.text(pos, "subdocument guid")[1]
        return 1, self.any_values(end, 1)

    # -- Any values ---------------------------------------------------------

    def any_values(self, pos: int, count: int) -> int:
        """Skip ``count`` Any values using an explicit stack, never recursion."""
        data = self.data
        stack: list[tuple[int, bool]] = []
        remaining, in_object = count, False
        while True:
            if not remaining:
                if not stack:
                    return pos
                remaining, in_object = stack.pop()
                continue
            remaining -= 1
            if in_object:
                pos = self.text(pos, "object key")[1]
            tag = data[pos]
            size = _ANY_FIXED.get(tag)
            if size is not None:
                pos += size + 1
            elif tag in _ANY_CONTAINERS:
                self.check_depth(len(stack) + 1, pos)
                stack.append((remaining, in_object))
                in_object = tag == _ANY_OBJECT
                remaining, pos = self.count(pos + 1, "Any container", 1 + in_object)
            else:
                pos = self.any_variable(tag, pos)

    def check_depth(self, depth: int, pos: int) -> None:
        """Refuse an Any container nested deeper than ``max_depth``."""
        if depth > self.max_depth:
            raise InvalidUpdate(
                f"nesting depth {depth} exceeds the limit of {self.max_depth} at byte {pos}"
            )

    def any_variable(self, tag: int, pos: int) -> int:
        """Skip a string, integer or byte-string Any value whose tag is at ``pos``."""
        if tag == _ANY_STRING:
            return self.text(pos + 1, "Any string")[1]
        if tag == _ANY_INTEGER:
            return _skip_int(self.data, pos + 1)
        if tag == _ANY_BYTES:
            return self.span(pos + 1, "Any byte string")[1]
        raise InvalidUpdate(f"unknown Any tag {tag} at byte {pos}")

    # -- delete set ---------------------------------------------------------

    def delete_set(self, pos: int) -> tuple[int, int]:
        """Read the delete set; return ``(range count, next offset)``."""
        clients, pos = self.count(pos, "delete set client", 2)
        seen: set[int] = set()
        total = 0
        for _ in range(clients):
            client_at = pos
            client, pos = self.uint(pos)
            _first_time(seen, client, client_at)
            ranges, pos = self.count(pos, "delete range", 2)
            for _ in range(ranges):
                pos = self.delete_range(pos, client)
            total += ranges
        return total, pos

    def delete_range(self, pos: int, client: int) -> int:
        """Read one (clock, length) delete range of ``client``."""
        clock, end = self.u32(pos, "delete clock")
        size, end = self.u32(end, "delete length")
        if clock + size >= _U32:
            raise InvalidUpdate(f"delete range passes 2**32 at byte {pos}")
        self.need(client, clock + size)
        return end


def _first_time(seen: set[int], client: int, pos: int) -> None:
    """Refuse a client id that already appeared in the same section."""
    if client in seen:
        raise InvalidUpdate(f"client {client} appears twice at byte {pos}")
    seen.add(client)


_CONTENT: Final = {
    1: _Reader.deleted,
    2: _Reader.json,
    3: _Reader.binary,
    4: _Reader.string,
    5: _Reader.embed,
    6: _Reader.format,
    7: _Reader.shared_type,
    8: _Reader.any_content,
    9: _Reader.doc,
}


class TypeDepthTracker:
    """Track how deeply shared types nest across the updates of one document.

    yrs stores nested shared types as flat items that point at their parent,
    so one update cannot show how deep a new type really is. The tracker
    remembers the depth of every shared-type item it has accepted (a type
    placed directly in a root type is depth 1) and refuses updates that would
    go deeper than ``limits.max_type_depth``.

    Depths are upper bounds, computed per type item as follows:

    * parent is a root name: depth 1;
    * parent is a known type item: that item's depth + 1;
    * parent inherited from an origin that is a known type item: the same
      depth as that item (an origin is always a sibling in the same parent);
    * otherwise (parent or origin unknown, or the origin is a non-type item
      such as text): the deepest depth known so far + 1. The real parent is
      a type the tracker has seen (with :func:`check_applicable`, a parent
      can never be missing), so this bound can never be too low.

    Types within one update are resolved against each other first, whatever
    their order. Items whose id is already known are skipped, so re-sent
    state does not raise any bound. The last rule is conservative: every such
    item may raise the deepest known depth by one, so a document that keeps
    inserting shared types right after plain content can eventually be
    refused. Memory is one dict entry per shared-type item.

    The bound holds only if the tracker sees every update applied to the
    document; seed it with the stored state when a document is loaded, e.g.
    ``tracker.check(check_update(doc.get_update()))``.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        """Create an empty tracker.

        Args:
            limits: Supplies ``max_type_depth``.
        """
        self._limit = limits.max_type_depth
        self._depths: dict[ID, int] = {}
        self._deepest = 0

    def __len__(self) -> int:
        """Return the number of shared-type items remembered."""
        return len(self._depths)

    @property
    def deepest(self) -> int:
        """The largest depth bound recorded so far (0 when empty)."""
        return self._deepest

    def depth_of(self, item_id: ID) -> int | None:
        """Return the depth bound recorded for a type item, or None."""
        return self._depths.get(item_id)

    def check(self, info: UpdateInfo) -> None:
        """Refuse ``info`` if it nests types too deeply; otherwise record them.

        Args:
            info: Result of :func:`check_update` for the update about to be
                applied.

        Raises:
            InvalidUpdate: If a new type would be nested deeper than
                ``max_type_depth``. Nothing is recorded in that case.
        """
        if not info.type_items:
            return  # text typed into existing types: the common case
        fresh = [
            (item_id, parent, sibling)
            for (item_id, parent), sibling in zip(info.type_items, info.type_siblings, strict=True)
            if item_id not in self._depths
        ]
        if not fresh:
            return
        new = _Resolution(self._depths, self._deepest, self._limit).run(fresh)
        self._depths.update(new)
        self._deepest = max(self._deepest, *new.values())


_Pending: TypeAlias = tuple[ID, TypeParent, ID | None]


class _Resolution:
    """Assign depth bounds to the new type items of one update."""

    __slots__ = ("deepest", "known", "limit", "new", "waiting")

    def __init__(self, known: dict[ID, int], deepest: int, limit: int) -> None:
        self.known = known
        self.deepest = deepest
        self.limit = limit
        self.new: dict[ID, int] = {}
        self.waiting: dict[ID, list[_Pending]] = {}

    def run(self, fresh: list[_Pending]) -> dict[ID, int]:
        """Resolve every item, waiting on in-update dependencies first."""
        ids = {item[0] for item in fresh}
        for item in fresh:
            depth = self.direct(item)
            dependency = _dependency(item)
            if depth is not None:
                self.settle(item, depth)
            elif dependency in ids:
                self.waiting.setdefault(dependency, []).append(item)
        for item in fresh:
            if item[0] not in self.new:
                self.settle(item, self.deepest + 1)
        return self.new

    def direct(self, item: _Pending) -> int | None:
        """Depth from a root name or an already-known parent/sibling."""
        _item_id, parent, sibling = item
        if isinstance(parent, str):
            return 1
        if parent is not None:
            depth = self.lookup(parent)
            return None if depth is None else depth + 1
        return None if sibling is None else self.lookup(sibling)

    def lookup(self, item_id: ID) -> int | None:
        """Depth of a type item known before or resolved in this update."""
        depth = self.new.get(item_id)
        return self.known.get(item_id) if depth is None else depth

    def settle(self, item: _Pending, depth: int) -> None:
        """Record ``depth`` for ``item`` and resolve everything waiting on it."""
        todo = [(item, depth)]
        while todo:
            (item_id, _parent, _sibling), depth = todo.pop()
            if depth > self.limit:
                raise InvalidUpdate(
                    f"shared type {item_id[0]}:{item_id[1]} would be nested "
                    f"{depth} deep, beyond the limit of {self.limit}"
                )
            self.new[item_id] = depth
            self.deepest = max(self.deepest, depth)
            for waiter in self.waiting.pop(item_id, ()):
                todo.append((waiter, depth + 1 if waiter[1] == item_id else depth))


def _dependency(item: _Pending) -> ID | None:
    """The id an item's depth depends on: its parent id, else its sibling."""
    _item_id, parent, sibling = item
    if isinstance(parent, tuple):
        return parent
    return sibling if parent is None else None
