"""Reading a note's history: its versions, newest first, and what each contains.

Data functions for the REST side; each takes the session by keyword. Listing
reads one page of versions (an index on the note and position) and their
authors; it never walks the log. A version's content is replayed from the
nearest checkpoint at or before it by the store (``load_sync(note, upto=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.models import Version, VersionAuthor

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
    query = select(Version).where(Version.note_id == note_id)
    if before is not None:
        anchor = session.get(Version, before)
        if anchor is None or anchor.note_id != note_id:
            return []
        query = query.where(
            or_(
                col(Version.position) < anchor.position,
                and_(col(Version.position) == anchor.position, col(Version.id) < before),
            )
        )
    query = query.order_by(col(Version.position).desc(), col(Version.id).desc()).limit(limit)
    versions = list(session.exec(query))
    return _summaries(session, versions)


def get_version(*, session: Session, note_id: int, version_id: int) -> VersionSummary | None:
    """One version of the note, or None (also for another note's version)."""
    version = session.get(Version, version_id)
    if version is None or version.note_id != note_id:
        return None
    return _summaries(session, [version])[0]


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
