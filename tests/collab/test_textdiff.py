"""The diff a restore applies: always exact, as fine as words where time allows, bounded."""

from __future__ import annotations

import random

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collab.textdiff import (
    DELETE,
    EQUAL,
    INSERT,
    MOST_EDITS,
    Diff,
    byte_edits,
    text_diff,
    units,
)

WORDS = ["alpha", "beta", "gamma", "é", "日本", "🙂", "x", " ", ", ", "-"]
lines = st.lists(st.sampled_from(WORDS), max_size=12).map("".join)
texts = st.lists(st.one_of(lines, st.just("")), max_size=20).map("\n".join)


def old_of(diffs: Diff) -> str:
    return "".join(chunk for op, chunk in diffs if op != INSERT)


def new_of(diffs: Diff) -> str:
    return "".join(chunk for op, chunk in diffs if op != DELETE)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(texts, texts, st.sampled_from([0.0, 0.02]))
def test_the_diff_turns_the_old_text_into_the_new_exactly(
    old: str, new: str, timeout_s: float
) -> None:
    diffs = text_diff(old, new, timeout_s)
    assert old_of(diffs) == old
    assert new_of(diffs) == new


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(texts, texts)
def test_its_byte_edits_applied_back_to_front_make_the_new_text_in_a_ytext(
    old: str, new: str
) -> None:
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    text = doc.get("t", type=pycrdt.Text)
    text += old
    diffs = text_diff(old, new)
    with doc.transaction():
        for at, deleted, inserted in reversed(byte_edits(diffs)):
            if deleted:
                del text[at : at + deleted]
            if inserted:
                text.insert(at, inserted)
    assert str(text) == new
    utf16 = len(new.encode("utf-16-le")) - len(old.encode("utf-16-le"))
    assert units(diffs, INSERT) - units(diffs, DELETE) == utf16 // 2


def note(rng: random.Random, paragraphs: int) -> list[str]:
    vocabulary = [f"w{n}" for n in range(400)]
    return [" ".join(rng.choices(vocabulary, k=30)) for _ in range(paragraphs)]


def test_one_word_changed_in_a_long_note_is_one_word_replaced() -> None:
    paragraphs = note(random.Random(1), 300)
    old = "\n\n".join(paragraphs)
    paragraphs[150] = paragraphs[150].replace(paragraphs[150].split()[7], "CHANGED", 1)
    diffs = text_diff(old, "\n\n".join(paragraphs))
    assert [op for op, _ in diffs] == [EQUAL, DELETE, INSERT, EQUAL]
    assert diffs[2] == (INSERT, "CHANGED")


def test_a_paragraph_moved_and_one_edited_keep_the_rest_equal() -> None:
    paragraphs = note(random.Random(2), 200)
    old = "\n\n".join(paragraphs)
    moved = paragraphs.pop(10)
    paragraphs.insert(180, moved)
    paragraphs[50] = paragraphs[50] + " and one more"
    new = "\n\n".join(paragraphs)
    diffs = text_diff(old, new)
    assert new_of(diffs) == new
    changed = sum(len(chunk) for op, chunk in diffs if op != EQUAL)
    assert changed <= 2 * (len(moved) + 2) + len(" and one more")


def test_without_time_for_words_the_diff_is_coarser_and_still_exact() -> None:
    rng = random.Random(3)
    paragraphs = note(rng, 100)
    old = "\n".join(paragraphs)
    edited = [
        " ".join([*p.split()[:3], "NEW", *p.split()[4:25], "NEW", *p.split()[26:]])
        for p in paragraphs
    ]
    new = "\n".join(edited)
    coarse, fine = text_diff(old, new, timeout_s=0), text_diff(old, new, timeout_s=5)
    assert (old_of(coarse), new_of(coarse)) == (old, new)
    assert (old_of(fine), new_of(fine)) == (old, new)
    assert {chunk for op, chunk in fine if op == INSERT} == {"NEW"}
    changed = {
        name: sum(len(chunk) for op, chunk in diffs if op != EQUAL)
        for name, diffs in (("coarse", coarse), ("fine", fine))
    }
    assert changed["coarse"] > 10 * changed["fine"], changed


def test_reordering_every_line_of_a_big_note_still_gives_an_exact_diff() -> None:
    rng = random.Random(4)
    paragraphs = note(rng, 3000)  # ~500 KB: patience anchors, bounded gaps
    old = "\n".join(paragraphs)
    rng.shuffle(paragraphs)
    new = "\n".join(paragraphs)
    diffs = text_diff(old, new)
    assert (old_of(diffs), new_of(diffs)) == (old, new)


def test_thousands_of_scattered_changes_make_at_most_500_edits() -> None:
    # Each edit costs yrs a split of a long string: 4,100 on a 2 MB note took 320 ms to
    # apply in one call on the event loop. The diff stays exact.
    old = "".join(f"line {i} holds the word alpha among other words\n" for i in range(8_000))
    new = "".join(
        line.replace("alpha", "omega") if i % 4 == 0 else line
        for i, line in enumerate(old.splitlines(keepends=True))
    )
    diffs = text_diff(old, new, timeout_s=5)
    assert (old_of(diffs), new_of(diffs)) == (old, new)
    edits = byte_edits(diffs)
    assert 100 < len(edits) <= MOST_EDITS
