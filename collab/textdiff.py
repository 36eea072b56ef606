"""The edits that turn one text into another, in bounded time: how a restore changes a note.

A restore must change a note the way a person would, in place: a collaborator's
concurrent typing and every cursor outside the changed parts stay where they
were (replacing the whole text moves them to the top). So the diff is made in
three passes, each cheaper per character than the next:

1. **Lines, by patience.** Lines that occur once in each text and in the same
   order anchor the alignment (a longest increasing run, O(n log n)); only the
   gaps between anchors are diffed, by diff-match-patch over line tokens. A
   note's paragraphs are mostly unique lines, so the gaps are small. Diffing
   all lines at once cost 25 ms on a 100 KB note a week of edits apart; stdlib
   difflib took 1.6 s on 10,000 lines and is unbounded.
2. **Words, smallest changes first.** Each changed line (or block of lines) is
   diffed again word by word while time remains; what time does not reach
   stays a replacement of whole lines: coarser, never wrong.
3. **Fewer, larger edits.** Edits separated by a sliver of equal text (a space
   between two changed words) become one (diff-match-patch's efficiency
   cleanup). Applying an edit to a long-edited Y.Text costs yrs a walk from the
   start: 880 word edits took 30-50 ms to apply where their 240 merged ones took
   6 ms (bench/HISTORY.md).

4. **At most :data:`MOST_EDITS` edits.** Past that, the edits separated by the
   least equal text become one, which deletes and inserts that text again. A
   restore of a 2 MB note with 4,100 small edits took yrs 320 ms to apply (one
   call, on the event loop); 500 edits take 10 ms, 200 take 5 ms.

Character by character, pure-Python diff-match-patch took 1.6 s on a 39 KB note
with a word changed in every line; stdlib difflib took 112 s on 98 KB.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections import Counter
from typing import TypeAlias

from diff_match_patch import diff_match_patch

DELETE, EQUAL, INSERT = -1, 0, 1  # diff-match-patch's operations
Diff: TypeAlias = list[tuple[int, str]]

MOST_EDITS = 500

_LINES = re.compile(r"[^\n]*\n|[^\n]+")
_WORDS = re.compile(r"\w+|\W")


def text_diff(old: str, new: str, timeout_s: float = 0.02) -> Diff:
    """A diff from ``old`` to ``new``: by lines, refined to words while ``timeout_s`` lasts."""
    deadline = time.monotonic() + timeout_s
    differ = diff_match_patch()
    parts: list[Diff] = []
    changed: list[tuple[int, str, str]] = []  # (index in parts, old text, new text)
    lines = _line_diff(differ, _LINES.findall(old), _LINES.findall(new), deadline)
    for op, chunk, added in _replacements(lines):
        if op == DELETE and added:
            changed.append((len(parts), chunk, added))
            parts.append([(DELETE, chunk), (INSERT, added)])
        else:
            parts.append([(op, chunk)])
    for index, before, after in sorted(changed, key=lambda c: len(c[1]) + len(c[2])):
        left = deadline - time.monotonic()
        if left <= 0:  # Diff_Timeout 0 would mean no bound at all
            break
        differ.Diff_Timeout = left
        parts[index] = _token_diff(differ, _WORDS.findall(before), _WORDS.findall(after))
    diffs = [diff for part in parts for diff in part]
    differ.diff_cleanupMerge(diffs)
    differ.diff_cleanupEfficiency(diffs)
    return _at_most(differ, diffs, MOST_EDITS)


def _at_most(differ: diff_match_patch, diffs: Diff, edits: int) -> Diff:
    """``diffs`` with at most ``edits`` edits: those closest together are joined."""
    between = [k for k in range(1, len(diffs) - 1) if diffs[k][0] == EQUAL]
    excess = len(between) + 1 - edits
    if excess <= 0:
        return diffs
    joined = set(sorted(between, key=lambda k: len(diffs[k][1]))[:excess])
    out: Diff = []
    for k, (op, chunk) in enumerate(diffs):
        out += [(DELETE, chunk), (INSERT, chunk)] if k in joined else [(op, chunk)]
    differ.diff_cleanupMerge(out)
    return out


def _replacements(lines: Diff) -> list[tuple[int, str, str]]:
    """Line diffs as (op, text, replacing text): a changed block line by line when it can be.

    A deletion followed by an insertion is a replacement; when both hold as
    many lines (an edit in each paragraph), each line is its own replacement,
    so that the word pass diffs small pieces.
    """
    out: list[tuple[int, str, str]] = []
    i = 0
    while i < len(lines):
        op, chunk = lines[i]
        if op == DELETE and i + 1 < len(lines) and lines[i + 1][0] == INSERT:
            gone = chunk.splitlines(keepends=True)
            come = lines[i + 1][1].splitlines(keepends=True)
            pairs = zip(gone, come, strict=True) if len(gone) == len(come) else []
            out += [(DELETE, a, b) for a, b in pairs] or [(DELETE, chunk, lines[i + 1][1])]
            i += 2
        else:
            out.append((op, chunk, ""))
            i += 1
    return out


def _line_diff(differ: diff_match_patch, old: list[str], new: list[str], deadline: float) -> Diff:
    """Line diffs: anchored on the lines unique to both texts, diff-match-patch in between."""
    diffs: Diff = []
    i = j = 0
    for anchor_i, anchor_j in [*_anchors(old, new), (len(old), len(new))]:
        gone, come = old[i:anchor_i], new[j:anchor_j]
        left = deadline - time.monotonic()
        if gone and come and left > 0:
            differ.Diff_Timeout = left  # 0 would mean no bound at all
            diffs += _token_diff(differ, gone, come)
        elif gone and come:  # out of time: the gap is replaced whole
            diffs += [(DELETE, "".join(gone)), (INSERT, "".join(come))]
        elif gone or come:
            diffs.append((DELETE, "".join(gone)) if gone else (INSERT, "".join(come)))
        if anchor_i < len(old):
            diffs.append((EQUAL, old[anchor_i]))
        i, j = anchor_i + 1, anchor_j + 1
    return diffs


def _anchors(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """The longest run of lines unique in both texts that stays in order in both (patience)."""
    in_old, in_new = Counter(old), Counter(new)
    where = {line: j for j, line in enumerate(new) if in_new[line] == 1}
    pairs = [(i, where[line]) for i, line in enumerate(old) if in_old[line] == 1 and line in where]
    # Longest increasing subsequence of the new positions, by patience sorting.
    tops: list[int] = []  # the smallest last new-position of a run of each length
    ends: list[int] = []  # index in pairs of that run's last pair
    back: list[int] = []  # per pair: index of the pair before it in its run
    for k, (_i, j) in enumerate(pairs):
        length = bisect_left(tops, j)
        if length == len(tops):
            tops.append(j)
            ends.append(k)
        else:
            tops[length], ends[length] = j, k
        back.append(ends[length - 1] if length else -1)
    run: list[tuple[int, int]] = []
    k = ends[-1] if ends else -1
    while k >= 0:
        run.append(pairs[k])
        k = back[k]
    return run[::-1]


def _token_diff(differ: diff_match_patch, old: list[str], new: list[str]) -> Diff:
    """diff-match-patch over tokens (lines, words): each token one character, then back."""
    codes: dict[str, str] = {}
    names: list[str] = []

    def encode(tokens: list[str]) -> str:
        out = []
        for token in tokens:
            code = codes.get(token)
            if code is None:
                code = codes[token] = chr(len(names) + 1)  # 1..: never NUL
                names.append(token)
            out.append(code)
        return "".join(out)

    coded = differ.diff_main(encode(old), encode(new), False)
    return [(op, "".join(names[ord(code) - 1] for code in chunk)) for op, chunk in coded]


def byte_edits(diffs: Diff) -> list[tuple[int, int, str]]:
    """The diffs as (offset, bytes to delete, text to insert) on the old text.

    pycrdt 0.14 indexes a Text by UTF-8 bytes, so offsets and lengths are in bytes.
    """
    edits: list[tuple[int, int, str]] = []
    at = 0
    for op, chunk in diffs:
        size = len(chunk.encode())
        if op == EQUAL:
            at += size
        elif op == DELETE:
            edits.append((at, size, ""))
            at += size
        elif edits and edits[-1][0] + edits[-1][1] == at and not edits[-1][2]:
            edits[-1] = (edits[-1][0], edits[-1][1], chunk)  # a replacement: delete, insert
        else:
            edits.append((at, 0, chunk))
    return edits


def units(diffs: Diff, op: int) -> int:
    """Characters as Yjs counts them (UTF-16 units) that the diffs insert or delete."""
    return sum(len(chunk.encode("utf-16-le")) // 2 for kind, chunk in diffs if kind == op)
