"""Where a comment sits in a note's text: a range held by two Yjs relative positions.

A range is anchored to the characters it covers, not to offsets: its start to
the first character (``Assoc.AFTER``) and its end to the last one
(``Assoc.BEFORE``), encoded as ``Y.encodeRelativePosition`` writes them (pycrdt's
``StickyIndex``), so the browser reads them with ``Y.decodeRelativePosition``.
They follow the text through everyone's concurrent edits: text typed before the
range or after it moves it, text typed inside it grows it. When all of its text
is deleted, both ends resolve to the same point, which is how a thread is known
to be "on removed text".

Offsets are UTF-16 code units, as Yjs, JavaScript and CodeMirror count them;
pycrdt's own indexes count UTF-8 bytes, so they are converted here.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

import pycrdt

from collab import document
from collab.liveruns import structs_of

if TYPE_CHECKING:
    from collab.manager import RoomManager

MAX_QUOTE_CHARS = 1000
"""The words a thread keeps of its range; a longer range's quote ends with an ellipsis."""
COMMITTED_WAIT_S = 2.0
"""How long an anchor waits for a note's open room to have its edits on disk."""
MARK = "\x00"
"""What :func:`anchor` inserts in its copy of the document to split an item."""


class BadAnchor(ValueError):
    """A range that does not fit the note's current text; the message says why."""


@dataclass(frozen=True)
class Anchor:
    """A range of the text: its two ends, encoded, and the words it covers now."""

    start: bytes
    end: bytes
    quote: str


def anchor(state: bytes, start: int, end: int) -> Anchor:
    """Anchor the range ``[start, end)`` (UTF-16 offsets) of the document ``state`` makes.

    pycrdt's ``StickyIndex.new`` walks the text by UTF-8 bytes but takes the byte
    offset inside an item for a clock offset (Yjs clocks count UTF-16 units), so
    past a non-ASCII character in the same item it names the wrong character.
    Here each end is made at the start of an item, where that offset is 0: a
    copy of the document gets a character inserted just before the range's first
    and last characters (pycrdt splits items correctly when it inserts), and the
    position just after it names the original character exactly. The end is
    then turned to stick to the left (``assoc`` -1) on the last UTF-16 unit of
    the last character, as ``Y.createRelativePositionFromTypeIndex`` makes it.
    """
    copy: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    copy.apply_update(state)
    text = copy.get(document.TEXT_NAME, type=pycrdt.Text)
    units = str(text).encode("utf-16-le")
    if not 0 <= start < end <= len(units) // 2:
        raise BadAnchor(
            f"from and to must satisfy 0 <= from < to <= {len(units) // 2} (the text's length)"
        )
    try:
        before = units[: 2 * start].decode("utf-16-le")
        covered = units[2 * start : 2 * end].decode("utf-16-le")
    except UnicodeDecodeError:
        raise BadAnchor("from and to must not split a character in two") from None
    first = len(before.encode())
    last = first + len(covered[:-1].encode())  # where the last character begins, in bytes
    if last > first:
        text.insert(last, MARK)
    text.insert(first, MARK)
    head = pycrdt.StickyIndex.new(text, first + 1, pycrdt.Assoc.AFTER)
    tail = pycrdt.StickyIndex.new(text, last + (2 if last > first else 1), pycrdt.Assoc.AFTER)
    stuck = tail.to_json()
    stuck["item"]["clock"] += len(covered[-1].encode("utf-16-le")) // 2 - 1
    stuck["assoc"] = -1
    quote = covered if len(covered) <= MAX_QUOTE_CHARS else covered[: MAX_QUOTE_CHARS - 1] + "…"
    return Anchor(head.encode(), pycrdt.StickyIndex.from_json(stuck).encode(), quote)


async def anchor_in(rooms: RoomManager, note: int, start: int, end: int) -> Anchor:
    """Anchor a range of a note's committed text, as :meth:`RoomManager.read_text` reads it.

    From its open room once every edit it holds is on disk (so the anchor never
    names a character a crash could lose), else from the store, built off the
    event loop.
    """
    state = await _committed_state(rooms, note)
    return await asyncio.to_thread(anchor, state, start, end)


async def ranges_in(
    rooms: RoomManager, note: int, ends: Sequence[tuple[bytes, bytes]]
) -> tuple[str, list[tuple[int, int] | None]]:
    """:func:`ranges` of a note's committed text (read as :func:`anchor_in` reads it)."""
    state = await _committed_state(rooms, note)
    return await asyncio.to_thread(ranges, state, ends)


async def _committed_state(rooms: RoomManager, note: int) -> bytes:
    room = rooms.rooms.get(note)
    if room is not None and await room.pipeline.committed(within_s=COMMITTED_WAIT_S):
        return room.text.doc.get_update()
    stored = await rooms.store.load(note)
    return await asyncio.to_thread(document.encode, list(stored.updates))


def ranges(
    state: bytes, ends: Sequence[tuple[bytes, bytes]]
) -> tuple[str, list[tuple[int, int] | None]]:
    """The text ``state`` makes, and where each anchored range (its two encoded ends) is
    in it now, as indexes of that ``str``; None for a range on removed text.

    An end resolves as Yjs resolves it in the browser. pycrdt's
    ``StickyIndex.get_index`` counts UTF-8 bytes up to the item the end names but
    adds the end's clock offset inside that item in UTF-16 units (the mirror of
    what :func:`anchor` works around), so each end is read as the index of its
    item's first character (offset 0: bytes, exact) plus that offset, which is
    0 when the item is deleted.
    """
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.apply_update(state)
    text = doc.get(document.TEXT_NAME, type=pycrdt.Text)
    content = str(text)
    where = _Resolver(doc, text, content)
    found: list[tuple[int, int] | None] = []
    for start, end in ends:
        head, tail = where.index(start), where.index(end)
        if head is not None and tail is not None and head < tail:
            found.append((head, tail))
        else:  # its ends met: all its words were deleted
            found.append(None)
    return content, found


class _Resolver:
    """Encoded relative positions to ``str`` indexes of one document's text."""

    def __init__(self, doc: pycrdt.Doc[pycrdt.Text], text: pycrdt.Text, content: str) -> None:
        self.doc, self.text, self.content = doc, text, content
        self.starts: dict[int, list[int]] = {}  # each client's struct clocks
        ascii_only = content.isascii()
        self.ends = None if ascii_only else list(accumulate(len(c.encode()) for c in content))

    def index(self, encoded: bytes) -> int | None:
        sticky = pycrdt.StickyIndex.decode(encoded, self.text)
        item = sticky.to_json().get("item")
        if not isinstance(item, dict):  # at the text's start or end: no offset to convert
            return self._char(sticky.get_index())
        client, clock = int(item["client"]), int(item["clock"])
        starts = self.starts.get(client)
        if starts is None:
            starts = [at for at, _size, _place in structs_of(self.doc, client)]
            self.starts[client] = starts
        if not starts or clock < starts[0]:
            return None
        first = starts[bisect_right(starts, clock) - 1]
        base = pycrdt.StickyIndex.from_json(
            {"item": {"client": client, "clock": first}, "assoc": 0}, self.text
        ).get_index()
        return self._advance(self._char(base), sticky.get_index() - base)

    def _char(self, byte: int) -> int:
        """The index of the character that begins at UTF-8 offset ``byte``."""
        return byte if self.ends is None else bisect_right(self.ends, byte)

    def _advance(self, at: int, units: int) -> int:
        """``units`` UTF-16 units on from the character at ``at``."""
        while units > 0 and at < len(self.content):
            units -= 2 if ord(self.content[at]) > 0xFFFF else 1
            at += 1
        return at
