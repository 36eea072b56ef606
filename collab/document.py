"""A note's Yjs document: vetting what storage holds, building it, and helpers outside a room.

Run as ``python -m collab.document``, it is the process of its own that
:func:`encode` starts for a large document.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace

import pycrdt

from collab.frontmatter import clean_value, split_front_matter
from collab.yencoding import DEFAULT_LIMITS, InvalidUpdate, check_applicable, check_update
from collab.yencoding.pieces import PieceReader, join

TEXT_NAME = "content"
"""The name of the shared ``Y.Text`` that holds a note's Markdown."""

EMPTY_UPDATE = b"\x00\x00"
"""The Yjs update that changes nothing: no structs, no deletions (also an empty document)."""


def merge(updates: Sequence[bytes]) -> bytes:
    """One update holding all of ``updates``; a single update is returned as it is."""
    if len(updates) == 1:
        return bytes(updates[0])
    return pycrdt.merge_updates(*updates)


MERGE_ROWS = 100
MERGE_BYTES = 4096
"""Logged updates are applied merged, in runs of at most :data:`MERGE_ROWS` updates
and :data:`MERGE_BYTES` bytes, and a larger one in pieces (:func:`merged_runs`).

The bounds are for the GIL: an apply holds it throughout (a thread does not spare
the event loop), and what an update costs yrs is not its size. The 130 KB of a
find-and-replace over 4,000 lines of a 200 KB note cost 0.7-1.0 s applied whole;
the room logs it as it applied it (rows of 2-5 KB there, and up to 128 pieces a
row), and the search indexer's thread, applying a hundred such rows merged, held
every other note's keystrokes for 960 ms (bench/FREEZE.md); in runs of 4 KB,
20-55 ms each; in pieces of 16 structs, 9 ms at most. 4 KB is a hundred keystrokes
or more, so a typed log still goes in runs of a hundred: in runs of 1 KB, building a
note from 5,000 keystrokes took 14.5 ms against 10.3. (The search indexer applies a
longer tail apart: web.searchindex.)"""


def merged_runs(updates: Sequence[bytes]) -> list[bytes]:
    """``updates`` (logged, so checked before) as updates to apply one after another to
    the same document: runs of small ones merged, a large one cut into its pieces.

    For a log's rows, not a checkpoint: a whole document's state applies in one go
    at a fraction of what its structs cost one piece at a time."""
    runs: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for update in updates:
        if pending and (len(pending) >= MERGE_ROWS or size + len(update) > MERGE_BYTES):
            runs.append(merge(pending))
            pending, size = [], 0
        if len(update) > MERGE_BYTES:
            runs += pieces_of(update)
        else:
            pending.append(update)
            size += len(update)
    if pending:
        runs.append(merge(pending))
    return runs


def pieces_of(update: bytes) -> list[bytes]:
    """A logged update as its pieces (:mod:`collab.yencoding.pieces`), which applied in
    order make the same document (yrs holds back a piece whose references come later,
    and integrates it when they do); the update whole if it cannot be read so."""
    reader = PieceReader(update, STORED_LIMITS)
    try:
        while not reader.done:
            reader.step()
    except InvalidUpdate:  # it was checked before it was logged: left to yrs to judge
        return [update]
    return [join(update, [piece])[0] for piece in reader.pieces]


STORED_LIMITS = replace(DEFAULT_LIMITS, max_update_bytes=1 << 40, max_string_bytes=1 << 40)
"""A checkpoint of a large note can exceed the size limits for a single message;
the bounds that protect yrs (nesting depth, counts that fit in the bytes) stay."""


def first_problem(updates: Iterable[tuple[str, bytes]]) -> str | None:
    """What is wrong with a note's stored updates, or None if they load whole.

    For ``collab-notes check``. The server only ever stores updates that passed
    :mod:`collab.yencoding`, but a damaged disk, a bad restore or a hand edit can
    leave anything in a row, and pycrdt can crash the process on bytes it does not
    expect. So this runs the same pre-parser over every stored update first, and
    also asks whether each update, in load order, could be integrated at once: one
    that refers to clocks no earlier update holds would be left pending by yrs, and
    the text it carries (and everything after it that depends on it) would silently
    not appear.

    Args:
        updates: ``(label, update)`` pairs in the order the store loads them
            (its checkpoint first, then its log). The label names the row in the
            answer.

    Returns:
        A sentence naming the first bad update and what is wrong with it.
    """
    state: dict[int, int] = {}
    for label, update in updates:
        try:
            info = check_update(update, STORED_LIMITS)
            # Overlap is allowed: a logged keystroke may re-send clocks already held.
            check_applicable(info, state, allow_overlap=True)
        except InvalidUpdate as error:
            return f"{label}: {error}"
        for client, _start, end in info.clocks:
            state[client] = max(state.get(client, 0), end)
    return None


def build(updates: Iterable[bytes]) -> pycrdt.Doc[pycrdt.Text]:
    """A document made of stored updates, applied one at a time.

    This can take a while for a long log, so callers run it off the event loop.
    One update per apply matters: yrs integrates a single update holding 100,000
    separate structs many times slower than a thousand updates of a hundred.
    """
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


APART_BYTES = 1024 * 1024
"""Updates of more bytes than this are made into one document in a process of its own.

pycrdt holds the GIL while it applies and encodes, so a thread does not spare
the event loop: encoding a document of 900,000 one-character items held it for
520 ms, one of 300,000 for 113 ms, a 2 MB note for 20-40 ms (this shared machine,
load average 16). A process costs about 0.2 s of CPU to start, on another core
of two: at 64 KB, a note typed into at full speed started one for nearly every
checkpoint (one per 1,000 logged updates), and the throughput benchmark lost 20 %
(7.5-7.7k against 8.9-10.4k edits/s, 102 against 87 ms of server CPU per 1,000
edits). Under 1 MB the build holds the GIL for tens of milliseconds at most."""


def encode(updates: Sequence[bytes], apart_bytes: int = APART_BYTES) -> bytes:
    """The document ``updates`` make, as one update (a checkpoint); blocks, so off the loop.

    Past ``apart_bytes`` it is built and encoded in a process of its own
    (in this thread if none can be started).
    """
    if sum(len(update) for update in updates) <= apart_bytes:
        return build(updates).get_update()
    request = b"".join(len(update).to_bytes(8, "big") + update for update in updates)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "collab.document"], input=request, capture_output=True
        )
    except OSError:  # no interpreter to start (a frozen build): the loop shares the GIL
        return build(updates).get_update()
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"building a document apart failed ({done.returncode}): {error}")
    return done.stdout


def _encode_requested() -> None:
    """The child's side of :func:`encode`: length-prefixed updates in, the document out."""
    request, updates, at = sys.stdin.buffer.read(), [], 0
    while at < len(request):
        size = int.from_bytes(request[at : at + 8], "big")
        updates.append(request[at + 8 : at + 8 + size])
        at += 8 + size
    sys.stdout.buffer.write(build(updates).get_update())


def text(doc: pycrdt.Doc[pycrdt.Text]) -> str:
    """The note's Markdown."""
    return str(doc.get(TEXT_NAME, type=pycrdt.Text))


def initial_update(text: str) -> bytes | None:
    """The Yjs update that writes ``text`` into a new note, or None for no text."""
    if not text:
        return None
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.get(TEXT_NAME, type=pycrdt.Text).insert(0, text)
    return doc.get_update()


def title_of(text: str) -> str:
    """A note's title: its front matter's ``title``, else its first non-empty line
    after the front matter, without Markdown heading marks."""
    front, body = split_front_matter(text)
    title = clean_value(front.get("title", ""))
    if title:
        return title[:200]
    for line in body.splitlines():
        title = line.strip().lstrip("#").strip()
        if title:
            return title[:200]
    return ""


def written_clocks(update: bytes) -> tuple[tuple[int, int, int], ...]:
    """``(client, start, end)`` of each client's clocks a logged update holds (who wrote what);
    none for bytes that are not an update (a log holds only checked ones: never guess)."""
    try:
        return check_update(update, DEFAULT_LIMITS.for_stored()).clocks
    except InvalidUpdate:
        return ()


HEAD_BYTES = 32
"""Enough of an update's first bytes for :func:`first_block` (at most 1 + 5 + 8 + 5 are read)."""


def first_block(head: bytes) -> tuple[int, int] | None:
    """``(client, clock)`` that an update of one client block starts at, read from its first
    bytes; None when it has another number of blocks (or the bytes end first).

    A logged keystroke holds one block: its client and first clock are the second to
    fourth numbers of the update, so who-wrote-what reads 32 bytes, not the update.
    """
    numbers: list[int] = []
    value = shift = 0
    for byte in head:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            numbers.append(value)
            value = shift = 0
            if numbers[0] != 1:
                return None
            if len(numbers) == 4:  # blocks, structs, client, clock
                return numbers[2], numbers[3]
    return None


if __name__ == "__main__":
    _encode_requested()
