"""The one rule for names from clients: cleaned, or refused when they are not text."""

from __future__ import annotations

import pytest

from collab import awareness
from collab.errors import MalformedMessage
from collab.names import MAX_NAME_CHARS, BadName, clean_name


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("Ana", "Ana"),
        ("  Ana   Lopez \t", "Ana Lopez"),
        ("A\x00na", "Ana"),
        ("\u202eanA\u202c", "anA"),  # a bidi override and its pop
        ("An\u200ba\u200d\ufeff", "Ana"),  # zero-width space and joiner, BOM
        ("Ana\nBen\u2028Cy", "Ana Ben Cy"),  # line breaks are spaces
        ("Zoë 王", "Zoë 王"),
        ("\u200b \u2066 \x7f", ""),
        ("x" * 150, "x" * MAX_NAME_CHARS),
    ],
)
def test_a_name_is_kept_without_hidden_characters_and_extra_spaces(raw: str, kept: str) -> None:
    assert clean_name(raw) == kept


def test_a_name_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(BadName):
        clean_name("Ana\ud800")


def test_a_presence_state_with_a_lone_surrogate_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="lone surrogate"):
        awareness.canonical_state('{"user": {"name": "Ana\\ud800"}}')


def test_the_author_a_presence_gives_is_its_cleaned_name_or_none() -> None:
    assert awareness.user_name('{"user": {"name": "\\u0000A\\u202ena "}}') == "Ana"
    assert awareness.user_name('{"user": {"name": "\\u200b"}}') is None
