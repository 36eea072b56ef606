"""A large update read a few structs at a time, and cut into pieces that apply one by one.

Checking an update costs about 4 us a struct in Python, and yrs can take far
longer to apply some (an insert that splits a long string copies it): 900,000
structs fit in 8 MB. So a large update is read here in steps of
:data:`PIECE_STRUCTS` structs (or :data:`PIECE_RANGES` delete ranges) that the
caller interleaves with other work, and each step leaves a :class:`Piece`: a
valid update of its own, with what :func:`~collab.yencoding.check_update` would
say of it. Every rule of the whole-update check holds (it is the same decoder);
what is per piece is only what the replica checks before applying one: its
clocks, what it refers to, its places and shared types.

In the v1 encoding every struct is complete in itself (its origins or parent,
its content), so a run of a client's structs is an update given its block
header: the client, the count and the first clock. Delete ranges likewise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from collab.yencoding.decoder import UpdateDecoder, first_time
from collab.yencoding.model import ID, InvalidUpdate, Limits, Place, TypeParent, UpdateInfo
from collab.yencoding.varint import check_end, truncated, write_varuint

PIECE_STRUCTS = 16
"""Structs a piece holds at most: one apply of 16 cost yrs 0.01-8 ms (a split of a long
string copies it); 32 held another note up to 330 ms on a 4,000-line find-and-replace,
16 and 8 to 140-185 ms, on this shared machine."""
PIECE_RANGES = 256
"""Delete ranges a piece holds at most."""


class Piece(NamedTuple):
    """Part of an update: ``data[start:end]`` under a header of its own."""

    client: int
    clock: int  # the clock of its first struct (0 for delete ranges)
    size: int  # structs, or delete ranges
    start: int
    end: int
    info: UpdateInfo

    @property
    def deletes(self) -> bool:
        """True for a piece of the delete set."""
        return self.info.delete_range_count > 0


class PieceReader(UpdateDecoder):
    """Reads one update a piece per :meth:`step`; its pieces, in the order read."""

    __slots__ = ("_steps", "done", "pieces")

    def __init__(self, data: bytes, limits: Limits) -> None:
        super().__init__(data, limits)
        self.pieces: list[Piece] = []  # read and not yet taken (the caller clears it)
        self.done = False
        self._steps = self._read()

    def step(self) -> bool:
        """Read one more piece; True once the whole update is read (and checked)."""
        try:
            next(self._steps)
        except StopIteration:
            self.done = True
        except IndexError:
            raise truncated(self.data) from None
        return self.done

    def _read(self) -> Iterator[None]:
        clients, pos = self.count(0, "client", 3)
        if clients > self.limits.max_update_clients:
            raise InvalidUpdate(
                f"update has edits of {clients} clients; one takes at most "
                f"{self.limits.max_update_clients}"
            )
        seen: set[int] = set()
        for _ in range(clients):
            structs, pos = self.count(pos, "struct", 2)
            client_at = pos
            (client, start), pos = self.ident(pos, "start")
            first_time(seen, client, client_at)
            clock, chain = start, 0
            for first in range(0, structs, PIECE_STRUCTS):
                count = min(PIECE_STRUCTS, structs - first)
                self._collect()
                begin, at = pos, clock
                pos, clock, chain = self.run(pos, (client, start, clock), chain, count)
                info = self._info(count, 0, ((client, at, clock),))
                self.pieces.append(Piece(client, at, count, begin, pos, info))
                yield
        yield from self._read_deletions(pos)

    def _read_deletions(self, pos: int) -> Iterator[None]:
        clients, pos = self.count(pos, "delete set client", 2)
        seen: set[int] = set()
        for _ in range(clients):
            client_at = pos
            client, pos = self.uint(pos)
            first_time(seen, client, client_at)
            ranges, pos = self.count(pos, "delete range", 2)
            for first in range(0, ranges, PIECE_RANGES):
                count = min(PIECE_RANGES, ranges - first)
                self._collect()
                begin = pos
                for _ in range(count):
                    pos = self.delete_range(pos, client)
                self.pieces.append(Piece(client, 0, count, begin, pos, self._info(0, count, ())))
                yield
        check_end(self.data, pos)

    def _collect(self) -> None:
        """Start what the next piece says of itself afresh."""
        self.types, self.siblings, self.clocks = [], [], []
        self.holes, self.needs, self.places = {}, {}, Counter()
        self.deleted_units = 0

    def _info(
        self, structs: int, ranges: int, clocks: tuple[tuple[int, int, int], ...]
    ) -> UpdateInfo:
        return UpdateInfo(
            structs,
            ranges,
            tuple(self.types),
            tuple(self.siblings),
            clocks,
            tuple(self.holes.items()),
            tuple(self.needs.items()),
            tuple(self.places.items()),
            self.deleted_units,
        )


def join(data: bytes, pieces: Sequence[Piece]) -> tuple[bytes, UpdateInfo]:
    """Consecutive struct pieces of one client (or one delete piece) as one update.

    Returns:
        The update's bytes, and what :func:`~collab.yencoding.check_update` says of it.
    """
    first, last = pieces[0], pieces[-1]
    count = sum(piece.size for piece in pieces)
    body = data[first.start : last.end]
    header = write_varuint(count) + write_varuint(first.client)
    if first.deletes:  # no structs; one client's delete ranges
        return b"\x00\x01" + write_varuint(first.client) + write_varuint(count) + body, first.info
    update = b"\x01" + header + write_varuint(first.clock) + body + b"\x00"
    if len(pieces) == 1:
        return update, first.info
    return update, _joined([piece.info for piece in pieces], count)


def _joined(infos: Sequence[UpdateInfo], count: int) -> UpdateInfo:
    """What consecutive pieces of one client say of themselves, as one."""
    needs: dict[int, int] = {}
    places: Counter[Place] = Counter()
    types: list[tuple[ID, TypeParent]] = []
    siblings: list[ID | None] = []
    holes: tuple[tuple[int, int], ...] = ()
    for info in infos:
        for client, clock in info.references:
            if needs.get(client, 0) < clock:
                needs[client] = clock
        places.update(dict(info.places))
        types += info.type_items
        siblings += info.type_siblings
        holes = info.holes or holes  # the last skip of the client is what counts
    (client, start, _), (_, _, end) = infos[0].clocks[0], infos[-1].clocks[0]
    return UpdateInfo(
        count,
        0,
        tuple(types),
        tuple(siblings),
        ((client, start, end),),
        holes,
        tuple(needs.items()),
        tuple(places.items()),
        0,
    )
