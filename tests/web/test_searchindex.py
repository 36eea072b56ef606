"""The search indexer (``web.searchindex``): its choice of notes to index in a round, and
where it applies a large tail of the log."""

from __future__ import annotations

from typing import Any, cast

from pycrdt import Doc, Text

from collab import document
from web.searchindex import APART_LOG_BYTES, BATCH, SearchIndexer, _applied


def test_notes_ready_beyond_a_rounds_batch_are_indexed_in_the_next_round() -> None:
    indexer = SearchIndexer(cast(Any, None), cast(Any, None))  # _ready reads neither
    behind = [(note, 1) for note in range(1, BATCH + 21)]
    assert indexer._ready(behind, now=0.0) == []  # first seen: typing may go on
    assert indexer._ready(behind, now=0.25) == list(range(1, BATCH + 1))
    rest = behind[BATCH:]
    assert indexer._ready(rest, now=0.5) == [note for note, _ in rest]


def test_a_large_tail_of_the_log_is_applied_in_a_process_of_its_own() -> None:
    original = "".join(f"line {n} holds the word alpha among others\n" for n in range(2_000))
    typed: Doc[Text] = Doc()
    content = typed.get("content", type=Text)
    content.insert(0, original)
    first, state = typed.get_update(), typed.get_state()
    with typed.transaction():  # one find-and-replace: 2,000 deletions and insertions
        for at in reversed([n for n in range(len(original)) if original.startswith("alpha", n)]):
            del content[at : at + 5]
            content.insert(at, "omega")
    replacing = typed.get_update(state)
    assert len(replacing) > APART_LOG_BYTES

    cached: Doc[Text] = Doc()
    cached.apply_update(first)
    applied = _applied(cached, [replacing])

    assert applied is not cached, "built apart and read back, not applied in this thread"
    assert document.text(applied) == original.replace("alpha", "omega")
    small = _applied(applied, [typed_update(applied, "!")])
    assert small is applied and document.text(small).endswith("others\n!")


def typed_update(doc: Doc[Text], chunk: str) -> bytes:
    """An update appending ``chunk`` to what ``doc`` holds, made by another client."""
    other: Doc[Text] = Doc()
    other.apply_update(doc.get_update())
    state = other.get_state()
    content = other.get("content", type=Text)
    content.insert(len(content), chunk)
    return other.get_update(state)
