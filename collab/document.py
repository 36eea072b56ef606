"""Small helpers for a note's Yjs document outside a room."""

from __future__ import annotations

import pycrdt

from collab.room import TEXT_NAME


def initial_update(text: str) -> bytes | None:
    """The Yjs update that writes ``text`` into a new note, or None for no text."""
    if not text:
        return None
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.get(TEXT_NAME, type=pycrdt.Text).insert(0, text)
    return doc.get_update()


def title_of(text: str) -> str:
    """A note's title: its first non-empty line, without Markdown heading marks."""
    for line in text.splitlines():
        title = line.strip().lstrip("#").strip()
        if title:
            return title[:200]
    return ""
