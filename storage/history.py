"""Reading a note's history: its versions, newest first, and what each contains.

Data functions for the REST side; each takes the session by keyword. Listing
reads one page of versions (an index on the note and position) and their
authors; it never walks the log. A version's content is replayed from the
nearest checkpoint at or before it by the store (``load_sync(note, upto=...)``).

The open auto version (the current session of editing) grows in its note's row
(:mod:`storage.auto_versions`): its position is the note's head, and its last edit
and counts are the note's ``session_*``, read here in place of its own row's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from storage.models import Note, Restore, Version, VersionAuthor, utcnow

KINDS = ("auto", "named", "before-restore")


@dataclass(frozen=True)
class RestoreSummary:
    """The restore that followed a before-restore version: who, what, and its undo."""

    author: str
    position: int  # the restore's own row in the log
    restored_id: int
    restored_kind: str
    restored_name: str | None
    restored_at: datetime
    undone_by: str | None
    undone_at: datetime | None


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
    restore: RestoreSummary | None = None  # a before-restore version's restore


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
    restores = _restores(session, [v.id for v in versions if v.kind == "before-restore" and v.id])
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
            restore=restores.get(version.id or 0),
        )
        for version in versions
    ]


def _restores(session: Session, ids: list[int]) -> dict[int, RestoreSummary]:
    if not ids:
        return {}
    rows = session.exec(select(Restore).where(col(Restore.version_id).in_(ids)))
    return {
        row.version_id: RestoreSummary(
            author=row.author,
            position=row.position,
            restored_id=row.restored_id,
            restored_kind=row.restored_kind,
            restored_name=row.restored_name,
            restored_at=row.restored_at,
            undone_by=row.undone_by,
            undone_at=row.undone_at,
        )
        for row in rows
    }


def record_restore(
    *, session: Session, before: int, position: int, author: str, restored: VersionSummary
) -> None:
    """Record that ``author`` restored ``restored`` after version ``before``, in log row
    ``position``."""
    session.add(
        Restore(
            version_id=before,
            author=author,
            position=position,
            restored_id=restored.id,
            restored_kind=restored.kind,
            restored_name=restored.name,
            restored_at=restored.created_at,
        )
    )
    session.commit()


def claim_undo(*, session: Session, before: int, author: str) -> bool:
    """Mark the restore after version ``before`` undone by ``author``; False if it was already.

    One statement, so two people clicking Undo restore at once undo it once.
    """
    claimed = session.execute(
        update(Restore)
        .where(col(Restore.version_id) == before, col(Restore.undone_at).is_(None))
        .values(undone_by=author, undone_at=utcnow())
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]  # a CursorResult's


def release_undo(*, session: Session, before: int) -> None:
    """The undo claimed for version ``before`` failed: it may be tried again."""
    session.execute(
        update(Restore)
        .where(col(Restore.version_id) == before)
        .values(undone_by=None, undone_at=None)
    )
    session.commit()
