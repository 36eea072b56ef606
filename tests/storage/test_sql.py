"""The store's compiled statements: what they hand the driver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.db import make_engine
from storage.sql import Statement, Statements

ROW = {"note": 1, "position": 1, "data": b"", "author": "Ana", "added": 1, "removed": 0}


def bound_moment(statement: Statement, moment: datetime, **values: Any) -> str:
    bound = statement.bind(**{**ROW, **values, "now": moment})
    if isinstance(bound, dict):
        return str(bound["now"])
    assert statement.order is not None
    return str(bound[statement.order.index("now")])


def test_each_moment_is_bound_as_itself_though_processed_once_per_moment(tmp_path: Path) -> None:
    sql = Statements(make_engine(f"sqlite:///{tmp_path / 'notes.db'}").dialect)
    first = datetime(2026, 11, 27, 23, 50, 1, tzinfo=UTC)
    later = first + timedelta(seconds=1)
    assert bound_moment(sql.append, first).startswith("2026-11-27 23:50:01")
    assert bound_moment(sql.append, later).startswith("2026-11-27 23:50:02")
    assert bound_moment(sql.advance_head, later, count=1).startswith("2026-11-27 23:50:02")
    assert bound_moment(sql.append, first).startswith("2026-11-27 23:50:01"), "the last one's"
    same_time_another_object = datetime(2026, 11, 27, 23, 50, 3, tzinfo=UTC)
    assert bound_moment(sql.append, same_time_another_object).startswith("2026-11-27 23:50:03")
