"""How many items a note holds at each insertion place, roughly, in constant memory.

yrs orders items inserted concurrently at one place by scanning all of them, so
a note whose items pile up at one place makes every later insert there cost as
many steps (see :attr:`Limits.max_inserts_at_one_place`). An exact count would
need an entry per item of the note; a fixed table of counters indexed by a hash
of the place (a count-min sketch with one row) never undercounts, takes 8 KB
per note, and overcounts only by the items that share a counter: for a note of
a million items, about 250 per counter, far below the limit. The room leaves
out an item typed right after its author's previous one (see
:meth:`collab.replica.Replica.apply_keystroke`): ids are unique, so a place
holds at most one such item, and a place may hold one item more than counted.
"""

from __future__ import annotations

from array import array
from typing import Final

from collab.yencoding.model import DEFAULT_LIMITS, InvalidUpdate, Limits, Place, UpdateInfo

COUNTERS: Final = 4096
_SATURATED: Final = 0xFFFF


class PlaceCounter:
    """Counts, per note, the items inserted at each place; refuses an update past the limit."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._limit = limits.max_inserts_at_one_place
        self._counts = array("H", bytes(2 * COUNTERS))

    def check(self, info: UpdateInfo) -> None:
        """Refuse ``info`` if a place would hold too many items; otherwise count them.

        Raises:
            InvalidUpdate: A place would go past the limit. Nothing is counted then.
        """
        counts, limit = self._counts, self._limit
        if len(info.places) == 1:  # a keystroke: as below, without building lists (0.6 -> 0.2 us)
            ((place, count),) = info.places
            slot = hash(place) % COUNTERS
            if counts[slot] + count > limit:
                raise _too_many(limit, place)
            counts[slot] = min(_SATURATED, counts[slot] + count)
            return
        slots = [(hash(place) % COUNTERS, count, place) for place, count in info.places]
        for slot, count, place in slots:
            if counts[slot] + count > limit:
                raise _too_many(limit, place)
        for slot, count, _place in slots:
            counts[slot] = min(_SATURATED, counts[slot] + count)

    def most(self) -> int:
        """The highest count (an upper bound of the items at any one place)."""
        return max(self._counts)


def _too_many(limit: int, place: Place) -> InvalidUpdate:
    where = f"after {place[0]}:{place[1]}" if isinstance(place, tuple) else "with no origin"
    return InvalidUpdate(f"over {limit} items inserted at one place in the note ({where})")
