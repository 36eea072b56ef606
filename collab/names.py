"""Names that clients give, and the one rule for what of them is kept.

A name is what a connection's presence calls its user (the history's author of
its edits), a version's name, or a restore's author. Each reaches the database
through :func:`clean_name` and nothing else, so SQLite and PostgreSQL keep the
same text (PostgreSQL refuses a NUL in text: one in a presence name failed every
commit of its note, closing all its editors with 1011).

* Refused (:class:`BadName`), since no clean text can stand for it: a lone
  surrogate, which is not Unicode text and cannot be stored or sent as UTF-8.
* Cleaned: control characters (NUL and the rest of C0, DEL, C1) and format
  characters (Unicode's ``Cf``: bidi embeddings, overrides and isolates,
  zero-width spaces and joiners, the BOM, soft hyphens) are removed, since
  they hide or reorder what a reader of the history sees; any run of
  whitespace (tabs and line breaks too) becomes one space; the ends are
  trimmed; at most :data:`MAX_NAME_CHARS` characters stay.

What is left may be empty (a name of spaces or zero-width characters only):
the caller says what that means (no name, or a refusal).
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 100
"""The longest name kept, in characters (the database's columns hold 100)."""

_DROPPED = frozenset({"Cc", "Cf"})  # controls and format characters
_SPACES = frozenset({"Zl", "Zp"})  # line and paragraph separators


class BadName(ValueError):
    """A name that is not Unicode text (it holds a lone surrogate)."""


def clean_name(raw: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """``raw`` as it is kept (see the module docstring); may be empty.

    Raises:
        BadName: ``raw`` holds a lone surrogate.
    """
    if raw.isascii() and raw.isprintable():  # the usual name: nothing to remove
        return " ".join(raw.split())[:max_chars].rstrip()
    kept = []
    for char in raw:
        category = unicodedata.category(char)
        if category == "Cs":
            raise BadName("a name holds a lone surrogate, which is not Unicode text")
        if char.isspace() or category in _SPACES:
            kept.append(" ")
        elif category not in _DROPPED:
            kept.append(char)
    return " ".join("".join(kept).split())[:max_chars].rstrip()
