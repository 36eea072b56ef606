"""Faults injected into a running server's own code: what the writer does on a bug."""

from __future__ import annotations

from typing import Any

from storage.jobs import Append
from storage.updates import SqlDocumentStore


def break_appends_holding(store: SqlDocumentStore, marker: bytes) -> None:
    """Make the writer meet an unexpected error (a bug) on any update holding ``marker``."""
    append_all = store._append_all

    def failing(cursor: Any, appends: dict[int, list[Append]], now: Any) -> None:
        if any(marker in job.edit.update for jobs in appends.values() for job in jobs):
            raise RuntimeError("an injected bug in the writer")
        append_all(cursor, appends, now)

    store._append_all = failing  # type: ignore[method-assign]
