"""Whether a well-formed update can be applied to a document right now, whole.

Well-formed updates can still crash yrs (the one in pycrdt 0.14.13) through its
integration logic, which trusts that updates are honest:

* Structs whose predecessors or references are missing are kept as "pending"
  and later updates are merged into them; two hostile pending updates that
  overlap segfault or double-free the process. So an update must start at or
  below the document's clock for each client, must not skip clocks the
  document lacks, and may only refer to (or delete) clocks that the document
  or the update itself holds.
* A block that starts below the document's clock but ends above it re-sends
  clocks the document already has along with new ones. yrs trusts that the old
  part carries the same content and splices the new part onto it; a hostile
  re-send with different content corrupts the item list (use after free, found
  by fuzzing). Such blocks are refused unless ``allow_overlap``. Blocks the
  document already holds entirely are fine (yrs skips them without
  integrating), so plain re-sends pass. Honest peers straddle only when the
  document moved on between a sync request and its reply; the peer then has
  to resync.
"""

from __future__ import annotations

from collections.abc import Mapping

from collab.yencoding.model import AheadUpdate, OverlappingUpdate, UpdateInfo


def check_applicable(
    info: UpdateInfo, state: Mapping[int, int], *, allow_overlap: bool = False
) -> None:
    """Refuse an update that the document cannot take in cleanly right now (see above).

    Args:
        info: Result of :func:`check_update`.
        state: The document's state vector, e.g. ``decode_state_vector(doc.get_state())``.
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
            raise AheadUpdate(
                f"update skips clocks of client {client} up to {clock - 1} "
                f"that the document lacks; it would be left pending"
            )
    for client, clock in info.references:
        if clock > known.get(client, state.get(client, 0)):
            raise AheadUpdate(
                f"update refers to {client}:{clock - 1}, which neither the document "
                f"nor the update holds; it would be left pending"
            )


def _check_start(client: int, span: tuple[int, int], have: int, allow_overlap: bool) -> None:
    """Refuse a block that leaves a gap, or straddles the document's clock."""
    start, end = span
    if start > have:
        raise AheadUpdate(
            f"update starts client {client} at clock {start} but the document has "
            f"{have}; it would be left pending"
        )
    if start < have < end and not allow_overlap:
        raise OverlappingUpdate(
            f"update re-sends clocks {start}-{have - 1} of client {client} along with new "
            f"ones; partly overlapping re-sends are refused"
        )
