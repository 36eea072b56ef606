"""Thinning old history: past ``--history-days``, one version a day is enough.

For each note whose log holds updates older than the cutoff, in one
transaction:

* the positions that must stay reachable are the last of each day before the
  cutoff, every named or before-restore version's, those just before and after
  each restore's own change (Undo restore replays it), and the cutoff's own (the
  note must still load); each gets a checkpoint, built from the log, if it has none;
* the log rows up to the cutoff go, and the checkpoints there that are not kept;
* the auto versions of each old day become one, spanning the day, with its
  authors and counts together; named and before-restore versions stay for ever.

Positions after the cutoff are untouched, so a writer appending meanwhile and a
loader reading the latest checkpoint are not disturbed (a loader that raced the
thinning sees a gap in the positions and reads again: see ``SqlDocumentStore``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, bindparam, text
from sqlmodel import Session

from storage.locks import try_note_lock
from storage.models import Checkpoint, as_utc, utcnow

logger = logging.getLogger("storage.retention")

DEFAULT_HISTORY_DAYS = 30.0
"""``--history-days`` unless set: every version of this many days is kept."""

BuildState = Callable[[int, int], bytes]
"""(note, position) -> the note's whole document at that position, as one update."""


@dataclass(frozen=True)
class Thinned:
    """What thinning one note did."""

    note: int
    rows: int  # log rows removed
    checkpoints_added: int
    checkpoints_removed: int
    versions_merged: int


def notes_to_thin(engine: Engine, cutoff: datetime) -> list[int]:
    """Notes whose oldest logged update was committed before ``cutoff``."""
    query = text(
        "SELECT log.note_id FROM update_log AS log JOIN ("
        " SELECT note_id, min(position) AS first FROM update_log GROUP BY note_id"
        ") AS firsts ON log.note_id = firsts.note_id AND log.position = firsts.first"
        " WHERE log.committed_at < :cutoff ORDER BY log.note_id"
    ).bindparams(bindparam("cutoff", type_=DateTime()))
    with Session(engine) as session:
        return [row[0] for row in session.execute(query, {"cutoff": _naive(cutoff)})]


def thin(engine: Engine, note: int, cutoff: datetime, build: BuildState) -> Thinned | None:
    """Thin one note's history before ``cutoff``; None when it has nothing that old."""
    with Session(engine) as session:
        if not try_note_lock(session.connection(), note):
            return None  # another process is thinning or checkpointing it
        old = session.execute(
            text(
                "SELECT position, committed_at FROM update_log WHERE note_id = :note"
                " AND committed_at < :cutoff ORDER BY position"
            ).bindparams(bindparam("cutoff", type_=DateTime())),
            {"note": note, "cutoff": _naive(cutoff)},
        ).all()
        if not old:
            return None
        last = old[-1][0]
        keep = _days_last_positions(old) | {last} | _marked_positions(session, note, last)
        added, removed = _keep_checkpoints(session, note, last, keep, build)
        merged = _merge_old_auto_versions(session, note, last)
        rows = session.execute(
            text("DELETE FROM update_log WHERE note_id = :note AND position <= :last"),
            {"note": note, "last": last},
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
    result = Thinned(note, rows, added, removed, merged)
    logger.info("thinned the history of note=%s: %s", note, result)
    return result


def _keep_checkpoints(
    session: Session, note: int, last: int, keep: set[int], build: BuildState
) -> tuple[int, int]:
    """Checkpoints up to ``last`` at exactly the positions ``keep``; how many added, removed."""
    have = {
        row[0]
        for row in session.execute(
            text("SELECT position FROM checkpoint WHERE note_id = :note AND position <= :last"),
            {"note": note, "last": last},
        )
    }
    for position in sorted(keep - have):
        session.add(Checkpoint(note_id=note, position=position, data=build(note, position)))
    session.flush()
    for position in sorted(have - keep):
        session.execute(
            text("DELETE FROM checkpoint WHERE note_id = :note AND position = :position"),
            {"note": note, "position": position},
        )
    return len(keep - have), len(have - keep)


def _days_last_positions(rows: Sequence[Any]) -> set[int]:
    last: dict[date, int] = {}
    for position, committed in rows:
        last[as_utc(committed).date()] = position
    return set(last.values())


def _marked_positions(session: Session, note: int, upto: int) -> set[int]:
    found = session.execute(
        text(
            "SELECT position FROM version WHERE note_id = :note AND kind != 'auto'"
            " AND position <= :upto"
        ),
        {"note": note, "upto": upto},
    )
    # A restore's own change stays undoable: the states just before and after it.
    restores = session.execute(
        text(
            "SELECT r.position FROM restore AS r JOIN version AS v ON v.id = r.version_id"
            " WHERE v.note_id = :note AND r.position <= :upto"
        ),
        {"note": note, "upto": upto},
    )
    undoable = {p for (position,) in restores for p in (position - 1, position) if p > 0}
    return {row[0] for row in found} | undoable


def _merge_old_auto_versions(session: Session, note: int, upto: int) -> int:
    """One auto version per old day: the day's last, spanning the day; returns how many went."""
    versions = session.execute(
        text(
            "SELECT id, first_position, started_at, created_at, added, removed FROM version"
            " WHERE note_id = :note AND kind = 'auto' AND position <= :upto"
            # The open one's row is behind its note's (storage.auto_versions): it stays as it is.
            " AND id <> COALESCE((SELECT session_version FROM note WHERE id = :note), 0)"
            " ORDER BY position, id"
        ),
        {"note": note, "upto": upto},
    ).all()
    by_day: dict[date, list[Any]] = {}
    for version in versions:
        by_day.setdefault(as_utc(version[3]).date(), []).append(version)
    gone = 0
    for day in by_day.values():
        keeper, others = day[-1], day[:-1]
        if not others:
            continue
        for other in others:
            _fold_version(session, keeper[0], other[0])
        session.execute(
            text(
                "UPDATE version SET first_position = :first, started_at = :started,"
                " added = :added, removed = :removed WHERE id = :keeper"
            ).bindparams(bindparam("started", type_=DateTime())),
            {
                "first": min(v[1] for v in day),
                "started": min(_naive(as_utc(v[2])) for v in day),
                "added": sum(v[4] for v in day),
                "removed": sum(v[5] for v in day),
                "keeper": keeper[0],
            },
        )
        gone += len(others)
    return gone


def cutoff_for(days: float, now: datetime | None = None) -> datetime | None:
    """The moment before which history is thinned, for ``--history-days``; None for 0."""
    if days <= 0:
        return None
    from datetime import timedelta

    return (now or utcnow()) - timedelta(days=days)


def _naive(moment: datetime) -> datetime:
    """As stored: the columns hold UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _fold_version(session: Session, keeper: int, other: int) -> None:
    """Version ``other`` goes; its authors join ``keeper``'s."""
    session.execute(
        text(
            "INSERT INTO version_author (version_id, name) SELECT :keeper, name"
            " FROM version_author WHERE version_id = :other AND name NOT IN"
            " (SELECT name FROM version_author WHERE version_id = :keeper)"
        ),
        {"keeper": keeper, "other": other},
    )
    session.execute(text("DELETE FROM version_author WHERE version_id = :other"), {"other": other})
    session.execute(text("DELETE FROM version WHERE id = :other"), {"other": other})
