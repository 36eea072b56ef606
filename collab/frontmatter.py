"""A note's front matter: the YAML block HackMD and HedgeDoc notes start with.

A note that starts with a ``---`` line and has another ``---`` (or ``...``) line
within its first lines carries metadata there, not text: its ``title`` names the
note (:func:`collab.document.title_of`) and its ``tags`` join the note's tags
(``storage/summaries.py``); the app's preview hides the block. It is read by hand,
for these two keys only: no YAML parser runs on a note's text.
"""

from __future__ import annotations

FRONT_MATTER_MAX_LINES = 100
"""A closing ``---`` further down than this is not taken as the end of front matter."""


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The front matter's ``title`` and ``tags`` (raw values), and the text after it.

    A block list (``tags:`` then ``- a`` lines) comes back as ``a,b``. A note
    without front matter gives ``({}, text)``.
    """
    lines = text.split("\n", FRONT_MATTER_MAX_LINES + 1)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, min(len(lines), FRONT_MATTER_MAX_LINES + 1)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        return {}, text
    return _keys(lines[1:end]), "\n".join(lines[end + 1 :])


def _keys(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    block: list[str] = []  # the items of a block list under "tags:"
    current = None
    for line in lines:
        item = line.strip()
        if current == "tags" and item.startswith("- "):
            block.append(item[2:])
            continue
        key, colon, value = line.partition(":")
        current = key.strip().lower() if colon and not line[:1].isspace() else None
        if current in ("title", "tags"):
            found[current] = value.strip()
    if block and not found.get("tags"):
        found["tags"] = ",".join(block)
    return found


def clean_value(value: str) -> str:
    """A front matter value without its quotes, its runs of white space made one space."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return " ".join(value.split())
