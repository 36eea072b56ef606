"""A space-like set of notes: realistic Markdown, some with a year of history.

Text is drawn from a made-up vocabulary with Zipf's law (word rank r occurs in
proportion to 1/r, as in natural language), laid out as Markdown: a title,
headings, paragraphs, lists, a code block now and then, links. The notes are
written straight into the database in the server's own format (one Yjs update
per session of editing, each with its version row), which is what the server
would have written, at a fraction of the time typing them would take.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pycrdt
from sqlalchemy import Engine, insert, text

from storage.models import Note, UpdateLog, Version, VersionAuthor

SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["qu", "sh", "th", "ch"]
AUTHORS = ["Ada", "Grace", "Linus", "Margaret"]
ACCENTED = ["café", "résumé", "naïve", "façade", "Zürich", "São", "crème", "Ångström"]


@dataclass
class Vocabulary:
    """Made-up words, ranked; ``draw(n)`` follows Zipf's law."""

    size: int = 20_000
    seed: int = 7
    words: list[str] = field(init=False)
    _cumulative: list[float] = field(init=False)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        made: set[str] = set(ACCENTED)
        words = list(ACCENTED)
        while len(words) < self.size:
            word = "".join(
                self._random.choices(SYLLABLES, k=self._random.choice((1, 2, 2, 3, 3, 4)))
            )
            if word not in made:
                made.add(word)
                words.append(word)
        self._random.shuffle(words)
        self.words = words
        self._cumulative = list(itertools.accumulate(1 / rank for rank in range(1, self.size + 1)))

    def draw(self, count: int) -> list[str]:
        return self._random.choices(self.words, cum_weights=self._cumulative, k=count)

    def rank(self, low: int, high: int) -> str:
        """A word whose frequency rank is in ``[low, high)``."""
        return self.words[self._random.randrange(low, high)]


class Writer:
    """Markdown notes of about ``size`` characters."""

    def __init__(self, vocabulary: Vocabulary, seed: int = 11) -> None:
        self.words = vocabulary
        self.random = random.Random(seed)

    def sentence(self) -> str:
        words = self.words.draw(self.random.randint(6, 18))
        return " ".join(words).capitalize() + self.random.choice(".....?!")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.random.randint(2, 6)))

    def block(self) -> str:
        kind = self.random.random()
        if kind < 0.15:
            return "\n".join(
                f"- {' '.join(self.words.draw(self.random.randint(2, 8)))}" for _ in range(4)
            )
        if kind < 0.2:
            return (
                "```python\n"
                + "\n".join(f"{w} = {w}_{i}()" for i, w in enumerate(self.words.draw(4)))
                + "\n```"
            )
        if kind < 0.3:
            return f"## {' '.join(self.words.draw(3)).title()}"
        if kind < 0.35:
            word = self.words.draw(1)[0]
            return f"See [{word}](https://example.org/{word}) for {' '.join(self.words.draw(5))}."
        return self.paragraph()

    def note(self, size: int) -> list[str]:
        """A note as blocks (paragraphs, lists...); the first is its title line."""
        blocks = [f"# {' '.join(self.words.draw(self.random.randint(2, 5))).title()}"]
        length = len(blocks[0])
        while length < size:
            blocks.append(self.block())
            length += len(blocks[-1]) + 2
        return blocks


def _doc(blocks: list[str]) -> pycrdt.Doc:
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "\n\n".join(blocks) + "\n")
    return doc


def _session(writer: Writer, doc: pycrdt.Doc, blocks: list[str]) -> tuple[bytes, int, int]:
    """One session of editing: a paragraph replaced; returns (update, added, removed)."""
    content = doc.get("content", type=pycrdt.Text)
    before = doc.get_state()
    index = writer.random.randrange(1, len(blocks))
    start = sum(len(b) + 2 for b in blocks[:index])
    old, new = blocks[index], writer.paragraph()
    del content[start : start + len(old)]
    content.insert(start, new)
    blocks[index] = new
    return doc.get_update(before), len(new), len(old)


@dataclass
class Made:
    notes: list[tuple[int, str]]  # (id, edit token)
    chars: int


def populate(
    engine: Engine, writer: Writer, *, notes: int, size: int, with_history: int, sessions: int
) -> Made:
    """Write ``notes`` notes of about ``size`` characters; ``with_history`` of them get
    ``sessions`` more sessions of editing over the past year."""
    now = datetime.now(UTC)
    made: list[tuple[int, str]] = []
    chars = 0
    rows: dict[str, list[dict[str, Any]]] = {"note": [], "log": [], "version": [], "author": []}
    version_id = itertools.count(1)
    for note_id in range(1, notes + 1):
        blocks = writer.note(size)
        doc = _doc(blocks)
        chars += sum(len(b) + 2 for b in blocks)
        token = secrets.token_urlsafe(18)
        made.append((note_id, token))
        history = sessions if note_id <= with_history else 0
        start = now - timedelta(days=365 if history else writer.random.randint(1, 365))
        entries = [(doc.get_update(), len(str(doc.get("content", type=pycrdt.Text))), 0)]
        entries += [_session(writer, doc, blocks) for _ in range(history)]
        last = None
        for position, (update, added, removed) in enumerate(entries, start=1):
            at = start + timedelta(days=position * 365 / (len(entries) + 1))
            author = AUTHORS[(note_id + position) % len(AUTHORS)]
            last = next(version_id)
            rows["log"].append(
                dict(
                    note_id=note_id,
                    position=position,
                    data=update,
                    committed_at=at,
                    author=author,
                    added=added,
                    removed=removed,
                )
            )
            rows["version"].append(
                dict(
                    id=last,
                    note_id=note_id,
                    kind="auto",
                    name=None,
                    position=position,
                    first_position=position,
                    started_at=at,
                    created_at=at,
                    added=added,
                    removed=removed,
                    sealed=position == 1,
                )
            )
            rows["author"].append(dict(version_id=last, name=author))
        rows["note"].append(
            dict(
                id=note_id,
                edit_token=token,
                view_token=secrets.token_urlsafe(18),
                comment_token=secrets.token_urlsafe(18),
                created_at=start,
                updated_at=at,
                head=len(entries),
                session_version=last if history else None,
                session_added=added,
                session_removed=removed,
                session_last_at=at,
            )
        )
        if len(rows["note"]) >= 500:
            _flush(engine, rows)
    _flush(engine, rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("note", "version"):
                connection.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
    return Made(made, chars)


def _flush(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {"note": Note, "log": UpdateLog, "version": Version, "author": VersionAuthor}
    with engine.begin() as connection:
        for key in ("note", "log", "version", "author"):
            if rows[key]:
                connection.execute(insert(tables[key].__table__), rows[key])  # type: ignore[attr-defined]  # SQLModel tables
            rows[key] = []


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
