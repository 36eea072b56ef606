"""The update decoder: walks a Yjs v1 update's structs, contents and delete set once.

It learns what the later checks need (client blocks and their clocks, skipped
clocks, what origins and deletions point at, the shared types created) and
refuses anything malformed on the way; see the package docstring for the rules.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from collab.yencoding.model import (
    ID,
    START,
    InvalidUpdate,
    Limits,
    Place,
    TypeParent,
)
from collab.yencoding.reader import ByteReader
from collab.yencoding.varint import U32, skip_int

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


class UpdateDecoder(ByteReader):
    """Reads one update; the lists it fills become an :class:`UpdateInfo`."""

    __slots__ = (
        "clocks",
        "deleted_units",
        "holes",
        "limits",
        "max_depth",
        "needs",
        "place",
        "places",
        "siblings",
        "subdocs",
        "types",
    )

    def __init__(self, data: bytes, limits: Limits) -> None:
        super().__init__(data, limits)
        self.limits = limits
        self.max_depth = limits.max_depth
        self.subdocs = limits.allow_subdocuments
        self.place: Place | None = None  # where the struct just read was inserted
        self.places: Counter[Place] = Counter()
        self.deleted_units = 0  # clock units the delete set covers
        self.types: list[tuple[ID, TypeParent]] = []
        self.siblings: list[ID | None] = []
        self.clocks: list[tuple[int, int, int]] = []
        self.holes: dict[int, int] = {}
        self.needs: dict[int, int] = {}

    # -- struct section -----------------------------------------------------

    def struct_section(self, pos: int) -> tuple[int, int]:
        """Read all client blocks; return ``(struct count, next offset)``."""
        clients, pos = self.count(pos, "client", 3)
        if clients > self.limits.max_update_clients:
            raise InvalidUpdate(
                f"update has edits of {clients} clients; one takes at most "
                f"{self.limits.max_update_clients}"
            )
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
        first_time(seen, client, client_at)
        pos, end, _chain = self.run(pos, (client, clock, clock), 0, structs)
        self.clocks.append((client, clock, end))
        return structs, pos

    def run(
        self, pos: int, where: tuple[int, int, int], chain: int, count: int
    ) -> tuple[int, int, int]:
        """Read ``count`` structs of one client block; return ``(offset, clock, chain)``.

        ``where`` is the client, the clock of its block's first struct and the
        clock of the next; ``chain`` how many structs before it were chained.
        """
        client, start, clock = where
        data, struct, places = self.data, self.struct, self.places
        longest = self.limits.max_chained_structs
        for _ in range(count):
            self.place = None
            size, end = struct(pos, client, clock)
            place = self.place
            if place is not None:
                places[place] += 1
                # Placed right after this client's struct just before: an unmerged run.
                chain = chain + 1 if place == (client, clock - 1) and clock > start else 0
                if chain > longest:
                    raise _long_chain(chain, longest, pos)
            clock += size
            if clock >= U32:
                raise InvalidUpdate(f"clock of client {client} passes 2**32 at byte {pos}")
            if data[pos] == _SKIP:
                self.holes[client] = clock
            pos = end
        return pos, clock, chain

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
            self.place = sibling if info & _HAS_ORIGIN else START
        else:
            parent, pos = self.parent(info, pos + 1, client, clock)
            sibling = None
            self.place = START
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
            return skip_int(self.data, pos + 1)
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
            first_time(seen, client, client_at)
            ranges, pos = self.count(pos, "delete range", 2)
            for _ in range(ranges):
                pos = self.delete_range(pos, client)
            total += ranges
        return total, pos

    def delete_range(self, pos: int, client: int) -> int:
        """Read one (clock, length) delete range of ``client``."""
        clock, end = self.u32(pos, "delete clock")
        size, end = self.u32(end, "delete length")
        if clock + size >= U32:
            raise InvalidUpdate(f"delete range passes 2**32 at byte {pos}")
        self.need(client, clock + size)
        self.deleted_units += size
        return end


def _long_chain(chain: int, longest: int, pos: int) -> InvalidUpdate:
    return InvalidUpdate(
        f"a run of over {longest} unmerged structs, each after the one before, at byte {pos}"
    )


def first_time(seen: set[int], client: int, pos: int) -> None:
    """Refuse a client id that already appeared in the same section."""
    if client in seen:
        raise InvalidUpdate(f"client {client} appears twice at byte {pos}")
    seen.add(client)


_CONTENT: Final = {
    1: UpdateDecoder.deleted,
    2: UpdateDecoder.json,
    3: UpdateDecoder.binary,
    4: UpdateDecoder.string,
    5: UpdateDecoder.embed,
    6: UpdateDecoder.format,
    7: UpdateDecoder.shared_type,
    8: UpdateDecoder.any_content,
    9: UpdateDecoder.doc,
}
