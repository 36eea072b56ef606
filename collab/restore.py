"""A restore's edit, made on a fork of the note's document in a process of its own.

The smallest edits from the note's text to a version's are diffed
(:mod:`collab.textdiff`) and made on a copy of the document as it stood, away
from the event loop. Not in a thread: the diff is Python and each pycrdt call
holds the GIL (up to 29 ms an edit on a 2 MB note), and on a 2 MB note a thread
delayed every other note by 60-135 ms, again and again for 4 s, on a busy
machine. A process costs 0.2-0.3 s to start; restores are rare. What comes back is one
update, which the room applies as one edit, one log row (a crash leaves the
note restored or untouched). What peers type meanwhile merges with it as any
concurrent edit does, where it was typed; the diff is never made again on the
loop (it took 1.3 s on a 2 MB note, every time someone had typed meanwhile).

Of the diff, the last line of each run someone is typing right now is left
whole (:mod:`collab.liveruns`): the fork holds their structs, so the runs are
found there too, not on the loop.

The undo of a restore is made apart the same way (:func:`run_apart`).

The edits are made front to back: yrs splits a long string item cheaply from
its start and copies from its end, so on a 2 MB note 4,100 edits took 3.2 s
front to back and 23.6 s back to front.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

import pycrdt

from collab.document import TEXT_NAME
from collab.liveruns import live_ranges, spare
from collab.textdiff import DELETE, EQUAL, INSERT, byte_edits, text_diff, units
from collab.yencoding import Limits, UpdateInfo, check_update

PIPE = asyncio.subprocess.PIPE
T = TypeVar("T")


class RestoreEdit(NamedTuple):
    """The update that makes a version's text, what it is, and its size in characters."""

    update: bytes
    info: UpdateInfo
    added: int
    removed: int
    kept: int  # characters someone was typing that a deletion would have cut


def fork_edit(
    base: bytes, base_text: str, target: str, limits: Limits, typing: Sequence[int] = ()
) -> RestoreEdit | None:
    """The edit that makes ``target`` of the document ``base`` (whose text is ``base_text``),
    but for the line each of the ``typing`` clients is typing (see :mod:`collab.liveruns`).

    Meant for a process or thread of its own. None when it would change nothing.
    """
    if base_text == target:
        return None
    fork: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    fork.apply_update(base)
    diffs, kept = spare(text_diff(base_text, target), base_text, live_ranges(fork, typing))
    if all(op == EQUAL for op, _chunk in diffs):
        return None
    text = fork.get(TEXT_NAME, type=pycrdt.Text)
    state = fork.get_state()
    shift = 0  # how far the edits made so far moved the rest of the text (UTF-8 bytes)
    with fork.transaction():
        for at, deleted, inserted in byte_edits(diffs):
            if deleted:
                del text[at + shift : at + shift + deleted]
            if inserted:
                text.insert(at + shift, inserted)
            shift += len(inserted.encode()) - deleted
    update = fork.get_update(state)
    info = check_update(update, limits)
    return RestoreEdit(update, info, units(diffs, INSERT), units(diffs, DELETE), kept)


async def edit_apart(
    base: bytes, base_text: str, target: str, limits: Limits, typing: Sequence[int] = ()
) -> RestoreEdit | None:
    """:func:`fork_edit` in a process of its own (in a thread if none can be started)."""
    return await run_apart(fork_edit, base, base_text, target, limits, typing)


async def run_apart(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` in a process of its own (in a thread if none can be started).

    ``work`` must be a module-level function (the child imports it by its name),
    and its arguments and result must pickle.
    """
    request = pickle.dumps((work, args))
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collab.restore", stdin=PIPE, stdout=PIPE
        )
    except OSError:  # no interpreter to start (a frozen build): the loop shares the GIL
        return await asyncio.to_thread(work, *args)
    try:
        answer, _ = await child.communicate(request)
    except asyncio.CancelledError:  # its caller stops (the server does): so does the child
        child.kill()
        await child.wait()
        raise
    if child.returncode != 0:
        raise RuntimeError(f"a process apart failed with exit status {child.returncode}")
    result: T = pickle.loads(answer)  # from our own process: trusted
    return result


def _serve() -> None:
    """The child's side of :func:`run_apart`: a request on stdin, the result on stdout."""
    work, args = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(pickle.dumps(work(*args)))


if __name__ == "__main__":
    _serve()
