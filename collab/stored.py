"""Vetting a note's stored updates before they are trusted, for ``collab-notes check``.

The server only ever stores updates that passed :mod:`collab.yencoding`, but a
damaged disk, a bad restore or a hand edit can leave anything in a row, and
pycrdt can crash the process on bytes it does not expect. So a check runs the
same pre-parser over every stored update first, and also asks whether each
update, in load order, could be integrated at once: one that refers to clocks
no earlier update holds would be left pending by yrs, and the text it carries
(and everything after it that depends on it) would silently not appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from collab.yencoding import DEFAULT_LIMITS, InvalidUpdate, check_applicable, check_update

STORED_LIMITS = replace(DEFAULT_LIMITS, max_update_bytes=1 << 40, max_string_bytes=1 << 40)
"""A checkpoint of a large note can exceed the size limits for a single message;
the bounds that protect yrs (nesting depth, counts that fit in the bytes) stay."""


def first_problem(updates: Iterable[tuple[str, bytes]]) -> str | None:
    """What is wrong with a note's stored updates, or None if they load whole.

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
