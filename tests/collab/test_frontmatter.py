"""A note's front matter names it and is not its text (HackMD and HedgeDoc notes)."""

from __future__ import annotations

import pytest

from collab.document import title_of
from collab.frontmatter import split_front_matter
from storage.indexing import split_title
from storage.summaries import summarise

HACKMD = '---\ntitle: "Weekly  sync"\ntags: [plan, Ops]\nrobots: noindex\n---\n# Agenda\n[TOC]\n'


def test_the_front_matters_title_names_the_note_everywhere_a_title_is_taken() -> None:
    assert title_of(HACKMD) == "Weekly sync"
    assert summarise(HACKMD).title == "Weekly sync"
    assert summarise(HACKMD).tags == ("plan", "ops")
    assert split_title(HACKMD) == ("Weekly sync", "# Agenda\n[TOC]\n")


def test_without_a_title_key_the_first_line_after_the_front_matter_names_the_note() -> None:
    text = "---\ntags:\n  - a\n  - b\n---\n\n## Minutes\nbody"
    assert split_front_matter(text) == ({"tags": "a,b"}, "\n## Minutes\nbody")
    assert title_of(text) == "Minutes"
    assert split_title(text) == ("Minutes", "body")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("---\nnever closed\n", "---"),  # a rule, not front matter
        ("# Plain\n---\ntitle: x\n---\n", "Plain"),  # front matter only at the very start
        ("---\ntitle: ''\n---\nBody line", "Body line"),
        ("---\ntitle: x\n---", "x"),
    ],
)
def test_only_a_closed_block_at_the_start_is_front_matter(text: str, title: str) -> None:
    assert title_of(text) == title
