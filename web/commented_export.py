"""A note's Markdown with its comments in it: ``export.md?comments=footnotes|critic``.

``footnotes``: a ``[^cN]`` marker after the words of each thread, numbered in the
order the markers appear, and at the end one footnote per thread with each
comment's author, time (UTC) and text, "(resolved)" first for a resolved thread.

``critic``: CriticMarkup, ``{==words==}{>>author: text<<}`` with one more
``{>>...<<}`` per reply and ``{>>(resolved)<<}`` last for a resolved thread.
A highlight begins after a line's block marker (``# ``, ``- ``, ``> ``, ``1. ``)
and cannot hold another, a line break or ``==}``: a thread whose words overlap
an earlier highlight, or are such words, gets its comments alone,
``{>>...<<}``, after its words (or after the highlight they end in).

In both, a marker goes before the line breaks its words end with (it would
otherwise begin the next line, which may be a heading), and the threads whose
words were all deleted come last, as footnotes that begin "On removed text:"
with the words they were on, referenced from a closing "Comments on removed
text:" line.

Escaping: the text of a comment, its author and a removed thread's words are
the writer's, not Markdown. ``\\ ` * _ [ ] < > { } | ~ ^ &`` get a backslash
(CommonMark shows an escaped punctuation character as itself), so a body cannot
open a link, footnote, code span, HTML tag or entity, nor close the
CriticMarkup around it (``<<}`` becomes ``<<\\}``); each line is stripped and a
line that would begin a block (``#``, ``>``, ``-``, ``+``, ``=``, ``:``, ``1.``)
gets a backslash there too. In a footnote, a body's lines are kept, joined by
hard breaks and indented into the footnote; in CriticMarkup they are joined
by spaces (a comment there cannot span a paragraph).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from collab.anchors import ranges_in
from storage import comments
from storage.comments import Said, Thread
from web.deps import Services


class CommentStyle(StrEnum):
    """How ``export.md`` writes a note's comments (left out without the option)."""

    FOOTNOTES = "footnotes"
    CRITIC = "critic"


Span = tuple[int, int]
_ESCAPED = frozenset("\\`*_[]<>{}|~^&")
_NUMBERED = re.compile(r"\d+(?=[.)])")
_BLOCK_MARKERS = re.compile(r"(?:[ \t]*(?:#{1,6}[ \t]+|[-+*][ \t]+|>[ \t]?|\d{1,9}[.)][ \t]+))*")
"""What begins a line's block (heading, list item, quote): a highlight begins after it."""
_BREAKS = re.compile(r"\n|==}")
"""What a highlight may not hold: a line break (the next line may begin a block) or its end."""


async def export_with_comments(services: Services, note_id: int, style: CommentStyle) -> str:
    """The note's committed text with its threads written in ``style``."""

    def read() -> list[Thread]:
        with Session(services.engine) as session:
            return comments.threads_of(session=session, note_id=note_id)

    threads = await run_in_threadpool(read)
    ends = [(thread.anchor_start, thread.anchor_end) for thread in threads]
    text, where = await ranges_in(services.rooms, note_id, ends)
    return with_comments(text, threads, where, style)


def with_comments(
    text: str, threads: Sequence[Thread], where: Sequence[Span | None], style: CommentStyle
) -> str:
    """``text`` with ``threads`` (``where`` their words are now: None when removed)."""
    found = list(zip(threads, where, strict=True))
    placed = [(thread, _trimmed(text, span)) for thread, span in found if span]
    removed = [thread for thread, span in found if span is None]
    if style is CommentStyle.FOOTNOTES:
        marked, notes = _footnotes(text, placed)
    else:
        marked, notes = _insert(text, _critic(text, placed)), []
    first = len(notes) + 1
    notes += [(f"c{first + n}", _removed_note(thread)) for n, thread in enumerate(removed)]
    if not notes:
        return marked
    tail = [marked.rstrip("\n"), ""]
    if removed:
        refs = " ".join(f"[^c{first + n}]" for n in range(len(removed)))
        tail += [f"Comments on removed text: {refs}", ""]
    tail += [f"[^{label}]: {note}" for label, note in notes]
    return "\n".join(tail) + "\n"


def _trimmed(text: str, span: Span) -> Span:
    """``span`` without the line breaks it ends with (one character at least)."""
    start, end = span
    while end - start > 1 and text[end - 1] in "\r\n":
        end -= 1
    return start, end


def _footnotes(text: str, placed: list[tuple[Thread, Span]]) -> tuple[str, list[tuple[str, str]]]:
    order = sorted(placed, key=lambda found: (found[1][1], found[1][0]))
    labels = [f"c{n}" for n in range(1, len(order) + 1)]
    inserts = [(span[1], 0, f"[^{label}]") for label, (_, span) in zip(labels, order, strict=True)]
    notes = [(label, _thread_note(t)) for label, (t, _) in zip(labels, order, strict=True)]
    return _insert(text, inserts), notes


def _critic(text: str, placed: list[tuple[Thread, Span]]) -> list[tuple[int, int, str]]:
    """What to insert (where, order among inserts there, what) for CriticMarkup."""
    inserts: list[tuple[int, int, str]] = []
    lit: list[Span] = []  # the highlights made so far, in order
    for thread, (start, end) in sorted(placed, key=lambda found: found[1]):
        said = _critic_comments(thread)
        marker = _BLOCK_MARKERS.match(text, start, end)
        if marker and (start == 0 or text[start - 1] == "\n"):  # "{==# " is no heading
            start = marker.end()
        words = text[start:end]
        if words and (not lit or start >= lit[-1][1]) and not _BREAKS.search(words):
            lit.append((start, end))
            inserts += [(start, 2, "{=="), (end, 0, "==}" + said)]
            continue
        after = max([end, *(stop for begin, stop in lit if begin < end < stop)])
        inserts.append((after, 1, said))
    return inserts


def _insert(text: str, inserts: list[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for where, _order, what in sorted(inserts, key=lambda insert: insert[:2]):
        out += [text[at:where], what]
        at = where
    return "".join(out) + text[at:]


def _critic_comments(thread: Thread) -> str:
    said = [f"{{>>{_escape(c.author)}: {' '.join(_lines(c.body))}<<}}" for c in thread.comments]
    return "".join(said) + ("{>>(resolved)<<}" if thread.resolved else "")


def _thread_note(thread: Thread) -> str:
    """A footnote's text: its first line follows ``[^cN]: ``, the rest are indented."""
    said = "\n\n    ".join(_said(comment) for comment in thread.comments)
    return f"(resolved) {said}" if thread.resolved else said


def _removed_note(thread: Thread) -> str:
    quote = " ".join(_lines(thread.quote)) or "…"
    return f"On removed text: “{quote}”.\n\n    {_thread_note(thread)}"


def _said(comment: Said) -> str:
    when = comment.created_at.strftime("%Y-%m-%d %H:%M UTC")
    edited = ", edited" if comment.edited_at is not None else ""
    body = "\\\n    ".join(_lines(comment.body))
    return f"**{_escape(comment.author)}**, {when}{edited}: {body}"


def _lines(text: str) -> list[str]:
    """``text``'s lines, stripped, without empty ones, each escaped (see the module)."""
    lines = []
    for line in text.splitlines():
        escaped = _escape(line.strip())
        if escaped[:1] in ("#", ">", "+", "=", ":", "-"):
            escaped = "\\" + escaped
        elif number := _NUMBERED.match(escaped):
            escaped = f"{escaped[: number.end()]}\\{escaped[number.end() :]}"
        if escaped:
            lines.append(escaped)
    return lines


def _escape(text: str) -> str:
    return "".join("\\" + char if char in _ESCAPED else char for char in text)
