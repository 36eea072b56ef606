"""Reading a note's history: its versions, newest first, and what each contains.

Data functions for the REST side; each takes the session by keyword. Listing
reads one page of versions (an index on the note and position) and their
authors; it never walks the log. A version's content is replayed from the
nearest checkpoint at or before it by the store (``load_sync(note, upto=...)``).

The open auto version (the current session of editing) grows in its note's row
(:mod:`storage.sessions`): its position is the note's head, and its last edit
and counts are the note's ``session_*``, read here in place of its own row's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.models import Note, Version, VersionAuthor

KINDS = ("auto", "named", "before-restore")


@dataclass(frozen=True)
class VersionSummary:
    """A version as the history lists it."""

    id: int
    kind: str
    name: str | None
    position: int
    created_at: datetime
    authors: tuple[str, ...]
    added: int
    removed: int


def list_versions(
    *, session: Session, note_id: int, limit: int = 50, before: int | None = None
) -> list[VersionSummary]:
    """The note's versions, newest first: ``limit`` of them, after version ``before``."""
    live = _open_version(session, note_id)
    query = select(Version).where(Version.note_id == note_id)
    anchor: tuple[int, int] | None = None  # (position, id): list what sorts below it
    if before is not None:
        if live is not None and before == live.id:
            anchor = (live.position, before)
        else:
            found = session.get(Version, before)
            if found is None or found.note_id != note_id:
                return []
            anchor = (found.position, before)
        query = query.where(
            or_(
                col(Version.position) < anchor[0],
                and_(col(Version.position) == anchor[0], col(Version.id) < before),
            )
        )
    if live is not None:
        query = query.where(Version.id != live.id)
    query = query.order_by(col(Version.position).desc(), col(Version.id).desc()).limit(limit)
    versions = _summaries(session, list(session.exec(query)))
    if live is not None and (anchor is None or (live.position, live.id) < anchor):
        versions = sorted([*versions, live], key=lambda v: (v.position, v.id), reverse=True)
    return versions[:limit]


def get_version(*, session: Session, note_id: int, version_id: int) -> VersionSummary | None:
    """One version of the note, or None (also for another note's version)."""
    version = session.get(Version, version_id)
    if version is None or version.note_id != note_id:
        return None
    [summary] = _summaries(session, [version])
    note = session.get(Note, note_id)
    return _as_it_stands(summary, note) if note and note.session_version == version_id else summary


def _open_version(session: Session, note_id: int) -> VersionSummary | None:
    """The note's open auto version, with its figures as they stand now."""
    note = session.get(Note, note_id)
    if note is None or note.session_version is None:
        return None
    version = session.get(Version, note.session_version)
    if version is None:
        return None
    [stored] = _summaries(session, [version])
    return _as_it_stands(stored, note)


def _as_it_stands(stored: VersionSummary, note: Note) -> VersionSummary:
    """The note's open version: where its note's row says it has grown to."""
    return replace(
        stored,
        position=note.head,
        created_at=note.session_last_at or stored.created_at,
        added=note.session_added,
        removed=note.session_removed,
    )


def _summaries(session: Session, versions: list[Version]) -> list[VersionSummary]:
    ids = [version.id for version in versions if version.id is not None]
    authors: dict[int, list[str]] = {version_id: [] for version_id in ids}
    if ids:
        rows = session.exec(
            select(VersionAuthor.version_id, VersionAuthor.name)
            .where(col(VersionAuthor.version_id).in_(ids))
            .order_by(col(VersionAuthor.name))
        )
        for version_id, name in rows:
            authors[version_id].append(name)
    return [
        VersionSummary(
            id=version.id or 0,
            kind=version.kind,
            name=version.name,
            position=version.position,
            created_at=version.created_at,
            authors=tuple(authors.get(version.id or 0, ())),
            added=version.added,
            removed=version.removed,
        )
        for version in versions
    ]
