"""The vocabulary of the pre-parser: ids, errors, limits, and what a check learns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, NamedTuple, TypeAlias

ID: TypeAlias = tuple[int, int]
"""An item id: ``(client, clock)``."""

TypeParent: TypeAlias = str | ID | None
"""A root type name, the id of the parent type item, or None if inherited."""

Place: TypeAlias = ID | str
"""Where an item was inserted: its origin (the item it was placed after), or
:data:`START` for an item placed at the start of its parent (with no origin).
Concurrent inserts share a place."""

START: Final = "start"
"""The place of every item inserted with no origin. yrs scans all the items with
no origin at the start of a parent when it places one there, whatever its right
origin, so they count as one place even across parents."""

_SAFE_INT: Final = 1 << 53
_U32: Final = 1 << 32
_MAX_VAR_BYTES: Final = 8


class InvalidUpdate(ValueError):
    """Raised when bytes are not a well-formed, acceptable update or state vector.

    The message names what is wrong and the byte offset where it was found.
    """


class StaleUpdate(InvalidUpdate):
    """An update the document cannot take now, from a peer that may well be honest.

    The cure is to ask the peer again (a fresh sync step 1): its answer holds
    everything the document lacks, this update included. Never applied as it is.
    """


class OverlappingUpdate(StaleUpdate):
    """An update that re-sends part of what the document has along with new clocks.

    Honest peers send one when the document moved on between their sync request
    and its reply.
    """


class AheadUpdate(StaleUpdate):
    """An update that depends on clocks the document lacks: yrs would hold it back.

    A stock client sends keystrokes as soon as its socket opens but its offline
    edits only in answer to the server's sync step 1, so a keystroke can arrive
    ahead of the edits it follows.
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
        max_update_clients: Most client ids one update may carry structs of.
            An update carries the clients the server lacks: one for a
            keystroke, a few after offline work (each page load is a client).
            yrs integrates many clients' interleaved structs superlinearly,
            and the pre-parser takes about 5 us a client: 20,000 took 0.4 s
            to apply; 2,000 take about 15 ms to check and apply.
        max_note_clients: Most client ids one note may hold: each page load
            that edits is one, so 20,000 is over five years of a note edited
            ten times a day. Sessions that each continue the last one chain
            their clients, and yrs loads a chain of n clients in time growing
            with n squared: 20,000 load in 0.1-0.4 s, 40,000 in 0.9-3.2 s, and
            95,000 crashed it (a stack overflow). The state vector, which every
            sync sends, stays near 280 KB.
        max_chained_structs: Most structs in a row, in one update, each placed
            right after the one before by the same client. Honest encoders
            merge such a run into one struct; yrs integrates an unmerged run
            in quadratic time (80,000 took 2.4 s, 10,000 about 40 ms).
        max_inserts_at_one_place: Most items a note may hold that were
            inserted at one place (after the same item, or at the start with
            none): yrs orders concurrent inserts at one place by scanning them
            all, so each costs as many steps as there are (16,000 in two
            messages froze a server for 6.1 s). 2,048 keep the worst case
            near 40 ms; an honest note reaches a few dozen (a journal that
            always grows at its top: one a day).
    """

    max_depth: int = 32
    max_type_depth: int = 16
    max_string_bytes: int = 4 * 1024 * 1024
    max_update_bytes: int = 8 * 1024 * 1024
    allow_subdocuments: bool = False
    max_update_clients: int = 2_000
    max_note_clients: int = 20_000
    max_chained_structs: int = 10_000
    max_inserts_at_one_place: int = 2048

    def for_stored(self) -> Limits:
        """These limits, minus those on one message: for what a store already holds.

        A checkpoint of a large note can be larger, and hold more clients and
        longer runs, than any one message may; the bounds that protect yrs
        from malformed bytes (nesting, counts that fit) stay.
        """
        return replace(
            self,
            max_update_bytes=1 << 40,
            max_string_bytes=1 << 40,
            max_update_clients=1 << 40,
            max_chained_structs=1 << 40,
        )


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
        places: ``(place, count)``: how many items the update inserts at each
            place (see :data:`Place`).
        deleted: How many clocks (for text, UTF-16 units) the delete set covers.
    """

    struct_count: int
    delete_range_count: int
    type_items: tuple[tuple[ID, TypeParent], ...] = ()
    type_siblings: tuple[ID | None, ...] = ()
    clocks: tuple[tuple[int, int, int], ...] = ()
    holes: tuple[tuple[int, int], ...] = ()
    references: tuple[tuple[int, int], ...] = ()
    places: tuple[tuple[Place, int], ...] = ()
    deleted: int = 0

    @property
    def is_empty(self) -> bool:
        """True when the update carries no structs and no deletions."""
        return self.struct_count == 0 and self.delete_range_count == 0
