"""A note's Yjs document: building it from storage, and helpers outside a room."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pycrdt

from collab.frontmatter import clean_value, split_front_matter

TEXT_NAME = "content"
"""The name of the shared ``Y.Text`` that holds a note's Markdown."""

EMPTY_UPDATE = b"\x00\x00"
"""The Yjs update that changes nothing: no structs, no deletions (also an empty document)."""


def merge(updates: Sequence[bytes]) -> bytes:
    """One update holding all of ``updates``; a single update is returned as it is."""
    if len(updates) == 1:
        return bytes(updates[0])
    return pycrdt.merge_updates(*updates)


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
