"""How deeply shared types nest across the updates of one document."""

from __future__ import annotations

from typing import TypeAlias

from collab.yencoding.model import DEFAULT_LIMITS, ID, InvalidUpdate, Limits, TypeParent, UpdateInfo


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
