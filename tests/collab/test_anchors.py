"""Anchors read back on the server: where a thread's words are now, as Yjs would say."""

from __future__ import annotations

import pycrdt

from collab.anchors import anchor, ranges
from collab.document import TEXT_NAME


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_ranges_find_the_words_through_edits_in_items_with_non_ascii_text_and_removal() -> None:
    """Two clients' items, non-ASCII inside them: pycrdt's get_index alone counted
    the offset inside an item in UTF-16 units after bytes, and ended '😀x' one early."""
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    text += "é😀 "
    other: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    other.apply_update(doc.get_update())
    other.get(TEXT_NAME, type=pycrdt.Text).insert(len("é😀 ".encode()), "abc déf 😀x ghi")
    doc.apply_update(other.get_update())
    whole = str(text)
    words = ["abc", "déf", "😀x", "é😀", whole]
    anchors = []
    for word in words:
        start = units(whole[: whole.index(word)])
        anchors.append(anchor(doc.get_update(), start, start + units(word)))
    text.insert(len("é😀 abc d".encode()), "ÜÜ")  # inside 'déf'
    text.insert(0, "😀😀")  # before all
    content, found = ranges(doc.get_update(), [(a.start, a.end) for a in anchors])
    assert [content[s:e] for s, e in filter(None, found)] == [
        "abc",
        "dÜÜéf",
        "😀x",
        "é😀",
        "é😀 abc dÜÜéf 😀x ghi",
    ]
    at = content.index("dÜÜéf")
    del text[len(content[:at].encode()) : len(content[: at + 5].encode())]
    content, found = ranges(doc.get_update(), [(a.start, a.end) for a in anchors])
    assert found[1] is None  # all its words deleted: on removed text
    assert [content[s:e] for s, e in filter(None, found)] == ["abc", "😀x", "é😀", content[2:]]
