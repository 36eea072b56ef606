"""Reading a test server's database directly, whichever it is (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of one statement, on a connection of its own (closed before returning)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: Any) -> int:
    """Run one statement that returns no rows (an UPDATE), committed; how many rows it hit."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            return int(connection.execute(text(sql), params).rowcount)
    finally:
        engine.dispose()
