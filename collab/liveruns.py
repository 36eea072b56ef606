"""The run of text someone is typing, which a restore leaves whole (see collab/restoring.py).

Pure functions of a document and a diff, so that they run where the restore's
edit is made: on a fork of the document, in a process of its own
(collab/restore.py). On the event loop, reading a client's structs cost 112 ms
for 2,000 scattered inserts on a 100 KB note.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate

import pycrdt

from collab.document import TEXT_NAME
from collab.protocol import write_varuint
from collab.textdiff import DELETE, EQUAL, INSERT, Diff
from collab.yencoding import DEFAULT_LIMITS, decode_state_vector
from collab.yencoding.decoder import UpdateDecoder
from collab.yencoding.model import Place

_LOOK_BACK = 3  # structs between two parts of a run (a backspace leaves deleted ones)
_MAX_RUN = 64  # structs in a run at most


class _Structs(UpdateDecoder):
    """Reads an update's structs as (clock, length, place) (see :data:`Place`)."""

    __slots__ = ("structs",)

    def __init__(self, data: bytes) -> None:
        super().__init__(data, DEFAULT_LIMITS.for_stored())
        self.structs: list[tuple[int, int, Place | None]] = []

    def struct(self, pos: int, client: int, clock: int) -> tuple[int, int]:
        size, end = super().struct(pos, client, clock)
        self.structs.append((clock, size, self.place))
        return size, end


def structs_of(doc: pycrdt.Doc[pycrdt.Text], client: int) -> list[tuple[int, int, Place | None]]:
    """``client``'s structs in ``doc`` as (clock, length, place), in clock order."""
    state = decode_state_vector(doc.get_state())
    others = [(c, clock) for c, clock in state.items() if c != client]
    vector = write_varuint(len(others)) + b"".join(
        write_varuint(c) + write_varuint(clock) for c, clock in others
    )
    reader = _Structs(doc.get_update(vector))
    reader.struct_section(0)
    return reader.structs


def _run(structs: list[tuple[int, int, Place | None]], client: int) -> list[tuple[int, int]]:
    """The structs (clock, length) of ``client``'s latest run of typing.

    Its latest struct, and back from it each struct the run's first one was
    placed right after: typing on, or on again after a backspace (which leaves
    deleted structs between, hence a look back of :data:`_LOOK_BACK`). At most
    :data:`_MAX_RUN` structs: a sentence, not a session. Someone who wrote a
    whole note places nearly every insert after their own text: following
    every such link made the run the whole note, and cost 6.7 s on the event
    loop for 2,000 scattered inserts on a 100 KB note.
    """
    starts = [clock for clock, _size, _place in structs]
    first = len(structs) - 1
    while first > 0 and len(structs) - first < _MAX_RUN:
        place = structs[first][2]
        if not (isinstance(place, tuple) and place[0] == client):
            break
        before = bisect_right(starts, place[1]) - 1
        if not first - _LOOK_BACK <= before < first:
            break
        first = before
    return [(clock, size) for clock, size, _place in structs[max(first, 0) :]]


def live_ranges(doc: pycrdt.Doc[pycrdt.Text], clients: Iterable[int]) -> list[tuple[int, int]]:
    """The text (as UTF-16 offsets) of the runs ``clients`` are typing: one stretch each.

    Of a run's stretches of text, the one where its latest keystroke is (see
    :func:`spare`, which keeps its last line).
    """
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    units = _Utf16(str(text))
    found = []
    for client in clients:
        stretches: list[tuple[int, int]] = []
        for clock, size in _run(structs_of(doc, client), client):
            # pycrdt's get_index counts UTF-8 bytes up to the item an index names, then
            # UTF-16 units inside it: a struct's first character is exact (in bytes), and
            # its width is the difference (0 for a deleted struct)
            first = _index(text, client, clock, 0)
            width = _index(text, client, clock + size - 1, -1) - first
            if width > 0:
                start = units.of_byte(first)
                stretches.append((start, start + width))
        if not stretches:
            continue
        lo, hi = stretches[-1]  # the last in clock order with some width
        grown = True
        while grown:  # join the stretches that touch it, on either side (at most 64)
            grown = False
            for start, end in stretches:
                if start <= hi and lo <= end and (start < lo or end > hi):
                    lo, hi, grown = min(lo, start), max(hi, end), True
        found.append((lo, hi))
    return sorted(found)


class _Utf16:
    """UTF-8 offsets of a text (of its characters' starts) to UTF-16 offsets."""

    def __init__(self, text: str) -> None:
        self.ascii = text.isascii()
        if not self.ascii:
            self.byte_ends = list(accumulate(len(char.encode()) for char in text))
            self.unit_ends = list(accumulate(2 if ord(char) > 0xFFFF else 1 for char in text))

    def of_byte(self, byte: int) -> int:
        if self.ascii:
            return byte
        before = bisect_right(self.byte_ends, byte)  # the characters that end by ``byte``
        return self.unit_ends[before - 1] if before else 0


def _index(text: pycrdt.Text, client: int, clock: int, assoc: int) -> int:
    item = {"item": {"client": client, "clock": clock}, "assoc": assoc}
    return pycrdt.StickyIndex.from_json(item, text).get_index()


def spare(diffs: Diff, text: str, live: Sequence[tuple[int, int]]) -> tuple[Diff, int]:
    """``diffs`` over ``text`` with no deletion in the last line of each ``live`` range
    (UTF-16 offsets); also how many characters that kept."""
    if not live:
        return diffs, 0
    keep = [_last_line(text, _char(text, start), _char(text, end)) for start, end in live]
    out: Diff = []
    spared: dict[int, tuple[int, int]] = {}  # index in ``out`` of what was kept: where it was
    at = kept = 0
    for op, chunk in diffs:
        if op != DELETE:
            out.append((op, chunk))
            at += len(chunk) if op == EQUAL else 0
            continue
        end, cut = at + len(chunk), at
        for start, stop in keep:
            lo, hi = max(start, at), min(stop, end)
            if lo < hi:
                if lo > cut:
                    out.append((DELETE, text[cut:lo]))
                spared[len(out)] = (lo, hi)
                out.append((EQUAL, text[lo:hi]))
                kept += hi - lo
                cut = hi
        if cut < end:
            out.append((DELETE, text[cut:end]))
        at = end
    return _own_lines(out, spared, text), kept


def _own_lines(diffs: Diff, spared: dict[int, tuple[int, int]], text: str) -> Diff:
    """``diffs`` with the line breaks a kept line had around it, where it had them.

    A kept line stood where the version has other text: the diff deleted it with
    its line break and put that text beside it, so, kept, it would run into the
    restored text ("...by the weirkingfisher at dawn"). A line that began a line
    (ended one) still does: a break goes before (after) it where the text beside
    it does not give one. Typing inside a line is left as it is.
    """
    out: Diff = []
    for index, (op, chunk) in enumerate(diffs):
        if index not in spared:
            out.append((op, chunk))
            continue
        lo, hi = spared[index]
        before = _neighbour(diffs, index, -1)
        began_a_line = lo == 0 or text[lo - 1] == "\n"
        if began_a_line and before is not None and not before[1].endswith("\n"):
            out.append((INSERT, "\n"))
        out.append((op, chunk))
        after = _neighbour(diffs, index, 1)
        ended_a_line = hi == len(text) or text[hi] == "\n"
        if ended_a_line and after is not None and not after[1].startswith("\n"):
            out.append((INSERT, "\n"))
    return out


def _neighbour(diffs: Diff, index: int, step: int) -> tuple[int, str] | None:
    """The nearest operation that is not a deletion before (-1) or after (1) ``index``."""
    index += step
    while 0 <= index < len(diffs):
        if diffs[index][0] != DELETE:
            return diffs[index]
        index += step
    return None


def _last_line(text: str, start: int, end: int) -> tuple[int, int]:
    """``start, end`` from the last line break inside it: the line being typed, not the session."""
    line = text.rfind("\n", start, end - 1)
    return (line + 1, end) if line >= 0 else (start, end)


def _char(text: str, units: int) -> int:
    """The index in ``text`` of the character at ``units`` UTF-16 units."""
    if text.isascii():
        return units
    seen = 0
    for index, char in enumerate(text):
        if seen >= units:
            return index
        seen += 2 if ord(char) > 0xFFFF else 1
    return len(text)
