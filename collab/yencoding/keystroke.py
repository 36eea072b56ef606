"""The keystroke path: one typed character checked by one regular expression.

It answers exactly as the general decoder would for the inputs it takes (a
property test holds it to that) and returns None for everything else.
"""

from __future__ import annotations

import re
from typing import Final, cast

from collab.yencoding.model import START, InvalidUpdate, Limits, Place, UpdateInfo
from collab.yencoding.varint import SAFE_INT, U32, VARUINTS, decode_varuint

# A typed character, as every Yjs and yrs client encodes it: one client block of one
# string item placed by its origin and/or right origin, and no deletions. It is most
# of what a server receives, so it has a path of its own: one regular expression
# instead of a dozen method calls. Anything unusual about it (a limit, a long clock,
# a self-reference, bad UTF-8) is left to the general reader, which names the fault.
_VARUINT: Final = rb"([\x80-\xff]{0,7}[\x00-\x7f])"
_ID: Final = _VARUINT + _VARUINT
_KEYSTROKE: Final = re.compile(
    rb"\x01\x01"
    + _ID  # one client, one struct, starting at client:clock
    + rb"(?:\x84"
    + _ID
    + rb"|\xc4"
    + _ID
    + _ID
    + rb"|\x44"
    + _ID
    + rb")"  # string item
    + _VARUINT,  # the string's byte length; its bytes and an empty delete set follow
    re.DOTALL,
)
_KEYSTROKE_MAX_BYTES: Final = 512
_RIGHT_ORIGIN_ONLY: Final = 0x44


def check_keystroke(data: bytes, limits: Limits) -> UpdateInfo | None:
    """:func:`check_update` for one typed character; None for anything else."""
    # One function on purpose, over 40 lines: each call saved here is paid per keystroke
    # (callgrind: the keystroke path is 7k instructions an edit cheaper than the reader).
    if (
        not isinstance(data, bytes)
        or data[-1:] != b"\x00"
        or len(data) > min(_KEYSTROKE_MAX_BYTES, limits.max_update_bytes)
    ):
        return None
    match = _KEYSTROKE.match(data)
    if match is None:
        return None
    fields = tuple(filter(None, match.groups()))
    known = list(map(VARUINTS.get, fields))
    if None in known:
        try:
            known = list(map(decode_varuint, fields))
        except InvalidUpdate:
            return None  # 2**53 or more: the general reader names the fault
    values = cast("list[int]", known)
    client, clock, *targets, size = values
    start = match.end()
    if start + size + 1 != len(data) or not 0 < size <= limits.max_string_bytes:
        return None
    try:
        text = str(data[start : start + size], "utf-8")
    except UnicodeDecodeError:
        return None
    end = clock + (len(text) if text.isascii() else len(text.encode("utf-16-le")) >> 1)
    if client >= SAFE_INT or end >= U32:
        return None
    # The origin, then a right origin if there is one, each refused if the reader would
    # refuse it. Written out: a loop with a dict, as the reader does, costs half of what
    # this path saves (7k of 15k instructions an edit, callgrind).
    target, target_clock = targets[0], targets[1]
    if target >= SAFE_INT or target_clock >= U32 or (target == client and target_clock >= clock):
        return None
    if len(targets) == 2:
        references: tuple[tuple[int, int], ...] = ((target, target_clock + 1),)
    else:
        right, right_clock = targets[2], targets[3]
        if right >= SAFE_INT or right_clock >= U32 or (right == client and right_clock >= clock):
            return None
        if right != target:
            references = ((target, target_clock + 1), (right, right_clock + 1))
        else:
            references = ((target, max(target_clock, right_clock) + 1),)
    no_origin = data[match.end(2)] == _RIGHT_ORIGIN_ONLY
    place: Place = START if no_origin else (target, target_clock)
    return UpdateInfo(1, 0, (), (), ((client, clock, end),), (), references, ((place, 1),))
