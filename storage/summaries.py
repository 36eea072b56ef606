"""What a space's list shows of a note: its title, first words and tags, made from its text.

A title is what :func:`collab.document.title_of` says: the front matter's
``title:``, else the first non-empty line after it without its heading marks
(``collab/frontmatter.py`` reads the front matter). Tags follow HedgeDoc's
convention: the front matter's ``tags:``
(a YAML list, a block list, or words separated by commas) and every ``#word`` in
the text outside code; they are kept in lower case, so ``#Plan`` and ``#plan``
are one tag.

:func:`save` writes a summary only if it stands for a later position of the
note's log than the one stored, so two processes summarising one note, or a
slow summary racing a quick one, never put an older one back.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, delete, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from collab.document import title_of
from collab.frontmatter import clean_value, split_front_matter
from storage.models import Note, NoteTag, SpaceTag

MAX_TITLE_CHARS = 200
MAX_EXCERPT_CHARS = 160
MAX_TAG_CHARS = 100
MAX_TAGS = 50

_TAG = re.compile(r"(?<![^\s(\[{,;])#(\w[\w/-]*)")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)")
_EMPHASIS = re.compile(r"[*_~`]+")
_FENCE = re.compile(r"^\s*(```|~~~)")

NOTE = SQLModel.metadata.tables[str(Note.__tablename__)]
NOTE_TAG = SQLModel.metadata.tables[NoteTag.__tablename__]
SPACE_TAG = SQLModel.metadata.tables[SpaceTag.__tablename__]

TagCounts = Counter[tuple[int, str]]
"""Changes to ``space_tag``: (space, tag) -> notes gained (or lost, below 0)."""


@dataclass(frozen=True, slots=True)
class Summary:
    """A note as a list shows it."""

    title: str
    excerpt: str
    tags: tuple[str, ...]


def summarise(text: str) -> Summary:
    """The title, first words and tags of a note's Markdown."""
    front, body = split_front_matter(text)
    title = title_of(text)
    tags = dict.fromkeys(_front_tags(front.get("tags", "")) + _text_tags(body))
    return Summary(title[:MAX_TITLE_CHARS], _excerpt(body, title), tuple(tags)[:MAX_TAGS])


def _front_tags(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return [tag for tag in (_tag(clean_value(part)) for part in value.split(",")) if tag]


def _text_tags(body: str) -> list[str]:
    tags: list[str] = []
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced or "#" not in line:
            continue
        for match in _TAG.finditer(_INLINE_CODE.sub(" ", line)):
            tag = _tag(match.group(1))
            if tag and not tag.isdigit():  # "#12" is an issue or a heading number, not a tag
                tags.append(tag)
    return tags


def _tag(word: str) -> str:
    word = word.lstrip("#").strip().rstrip("/-")
    return word.casefold()[:MAX_TAG_CHARS] if word else ""


def excerpt_of(text: str) -> str:
    """A note's first words after its title (a list's and a link preview's), without its tags."""
    _front, body = split_front_matter(text)
    return _excerpt(body, title_of(text))


def _excerpt(body: str, title: str) -> str:
    words: list[str] = []
    length = 0
    skipped_title = False
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        plain = _plain(line)
        if not plain:
            continue
        if not skipped_title and plain.lstrip("#").strip() == title:
            skipped_title = True
            continue
        skipped_title = True
        for word in plain.split():
            words.append(word)
            length += len(word) + 1
            if length > MAX_EXCERPT_CHARS:
                return _fit(" ".join(words))
    return " ".join(words)


def _plain(line: str) -> str:
    line = _MARKS.sub("", line)
    line = _LINK.sub(r"\1", line)
    return _EMPHASIS.sub("", line).strip()


def _fit(text: str) -> str:
    if len(text) <= MAX_EXCERPT_CHARS:
        return text
    cut = text[: MAX_EXCERPT_CHARS - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def save(
    connection: Connection, note: int, head: int, summary: Summary, counts: TagCounts | None = None
) -> bool:
    """Store ``summary`` as the note's at log position ``head``, unless a later one is there.

    The note's ``edited_at`` (what lists sort by) catches up with its ``updated_at``
    in the same statement. Returns whether it was stored. Runs in the caller's
    transaction; its space's tag counts change in it too, or, given ``counts``, are
    added there for the caller to apply once (:func:`count_tags`).
    """
    stored = connection.execute(
        update(NOTE)
        .where(NOTE.c.id == note, NOTE.c.summary_head <= head)
        .values(
            title=summary.title,
            excerpt=summary.excerpt,
            summary_head=head,
            edited_at=NOTE.c.updated_at,
        )
        .returning(NOTE.c.space_id, NOTE.c.deleted_at)
    ).first()
    if stored is None:
        return False
    space = stored[0] if stored[1] is None else None
    gone = delete(NOTE_TAG).where(NOTE_TAG.c.note_id == note)
    changes: TagCounts = Counter()
    for was, tag in connection.execute(gone.returning(NOTE_TAG.c.space_id, NOTE_TAG.c.tag)):
        if was is not None:
            changes[(was, tag)] -= 1
    if summary.tags:
        rows = [{"note_id": note, "tag": tag, "space_id": space} for tag in summary.tags]
        connection.execute(insert(NOTE_TAG), rows)
        if space is not None:
            changes.update((space, tag) for tag in summary.tags)
    if counts is None:
        count_tags(connection, changes)
    else:
        counts.update(changes)
    return True


def count_tags(connection: Connection, changes: TagCounts) -> None:
    """Apply ``changes`` to the spaces' tag counts, in the caller's transaction.

    In one order, by space and tag: two transactions (two processes' summaries,
    a move beside them) then never each hold a count the other waits for.
    """
    moved = sorted((key, change) for key, change in changes.items() if change != 0)
    if not moved:
        return
    rows = [{"space_id": space, "tag": tag, "notes": change} for (space, tag), change in moved]
    connection.execute(_add_counts(connection.dialect.name), rows)  # in their order
    if any(change < 0 for _, change in moved):
        spaces = sorted({space for (space, _), change in moved if change < 0})
        connection.execute(
            delete(SPACE_TAG).where(SPACE_TAG.c.space_id.in_(spaces), SPACE_TAG.c.notes <= 0)
        )


@functools.cache
def _add_counts(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT`` adding to a space's count of a tag (built once)."""
    add = (postgresql if dialect == "postgresql" else sqlite).insert(SPACE_TAG)
    return add.on_conflict_do_update(
        index_elements=[SPACE_TAG.c.space_id, SPACE_TAG.c.tag],
        set_={"notes": SPACE_TAG.c.notes + add.excluded.notes},
    )


def listed_in(connection: Connection, notes: list[int]) -> None:
    """Bring the notes' tags in step with the space each is listed in, after a move, a
    deletion or a restore (``note_tag.space_id``: the space, unless the note is deleted),
    and the spaces' tag counts with them."""
    if not notes:
        return
    listed = (
        select(case((NOTE.c.deleted_at.is_(None), NOTE.c.space_id), else_=null()))
        .where(NOTE.c.id == NOTE_TAG.c.note_id)
        .scalar_subquery()
    )
    tags = select(NOTE_TAG.c.space_id, NOTE_TAG.c.tag).where(NOTE_TAG.c.note_id.in_(notes))
    changes: TagCounts = Counter()
    for was, tag in connection.execute(tags):
        if was is not None:
            changes[(was, tag)] -= 1
    moved = update(NOTE_TAG).where(NOTE_TAG.c.note_id.in_(notes)).values(space_id=listed)
    for now, tag in connection.execute(moved.returning(NOTE_TAG.c.space_id, NOTE_TAG.c.tag)):
        if now is not None:
            changes[(now, tag)] += 1
    count_tags(connection, changes)
