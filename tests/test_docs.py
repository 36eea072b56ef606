"""The prose stays true to the code: every path, dotted name, class attribute and
link in the README, CONTRIBUTING, docs/, bench's pages and our packages' docstrings
and comments resolves, and every metric is documented (every option is:
tests/web/test_settings.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.docrefs import ROOT, problems, prose

OPERATIONS = ROOT / "docs" / "operations.md"


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
def test_every_reference_in_the_docs_and_docstrings_resolves() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {problem}"
        for path, text in prose()
        for problem in problems(text, path)
    ]
    assert found == []


def test_the_checker_finds_each_kind_of_broken_reference(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "The room (`collab/room.py`) and its writer (`storage.writer.Writer`), as\n"
        "`RoomManager.serve` runs it; see [the map](page.md#the-map).\n\n## The map\n"
    )
    assert problems(page.read_text(), page) == []
    page.write_text(
        "The room (`collab/rooms.py`) and its writer (`storage.writer.Writter`), as\n"
        "`RoomManager.serves` runs it; see [the map](page.md#a-map) and [x](gone.md).\n"
    )
    assert problems(page.read_text(), page) == [
        "path collab/rooms.py",
        "name storage.writer.Writter",
        "attribute RoomManager.serves",
        "link page.md#a-map",
        "link gone.md",
    ]


def test_every_metric_has_a_row_in_the_operations_page() -> None:
    section = OPERATIONS.read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = {name.removesuffix("_total") for name in re.findall(r"^\| `(\w+)", section, re.M)}
    # Every metric is declared in web/metrics.py, some only once a room manager or a
    # fan-out is watched; a counter's name there lacks the _total it is scraped with.
    declared = set(re.findall(r'"(collab_\w+)"', (ROOT / "web" / "metrics.py").read_text()))
    assert len(declared) >= 12
    assert documented == declared
