"""The search indexer's choice of notes to index in a round (``web.searchindex``)."""

from __future__ import annotations

from typing import Any, cast

from web.searchindex import BATCH, SearchIndexer


def test_notes_ready_beyond_a_rounds_batch_are_indexed_in_the_next_round() -> None:
    indexer = SearchIndexer(cast(Any, None), cast(Any, None))  # _ready reads neither
    behind = [(note, 1) for note in range(1, BATCH + 21)]
    assert indexer._ready(behind, now=0.0) == []  # first seen: typing may go on
    assert indexer._ready(behind, now=0.25) == list(range(1, BATCH + 1))
    rest = behind[BATCH:]
    assert indexer._ready(rest, now=0.5) == [note for note, _ in rest]
