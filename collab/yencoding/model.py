"""The vocabulary of the pre-parser: ids, errors, limits, and what a check learns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple, TypeAlias

ID: TypeAlias = tuple[int, int]
"""An item id: ``(client, clock)``."""

TypeParent: TypeAlias = str | ID | None
"""A root type name, the id of the parent type item, or None if inherited."""

_SAFE_INT: Final = 1 << 53
_U32: Final = 1 << 32
_MAX_VAR_BYTES: Final = 8


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
