"""Typing into a note over the websocket, one keystroke at a time, as a person does.

Each keystroke is one Yjs update from a pycrdt document, sent in its own
frame and followed by a save marker; the next keystroke goes once the server
acknowledged the marker, that is once the keystroke is committed. So every
keystroke is its own log row and its own transaction, as at human speed (a
fast typist's keystrokes are ~100 ms apart, many commits apart), only without
the waiting in between.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import pycrdt
from websockets.asyncio.client import ClientConnection, connect

from collab import awareness, protocol
from collab.document import TEXT_NAME

from .seed import words

SYNC, AWARENESS = 0, 1
SYNC_STEP2 = 1


@dataclass(frozen=True)
class Typed:
    """What typing did."""

    keystrokes: int
    seconds: float
    text_bytes: int


async def type_into(ws_url: str, token: str, keystrokes: int, author: str = "Ana") -> Typed:
    """Type ``keystrokes`` characters at the end of the note, each committed before the next."""
    typing = words(random.Random(7))
    async with connect(f"{ws_url}/{token}", max_size=None, open_timeout=30) as ws:
        doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
        text = doc.get(TEXT_NAME, type=pycrdt.Text)
        made: list[bytes] = []
        await _sync(ws, doc)
        await ws.send(_presence(doc.client_id, author))
        doc.observe(lambda event: made.append(event.update))
        started = time.perf_counter()
        for marker in range(1, keystrokes + 1):
            text.insert(len(text), next(typing))
            await ws.send(pycrdt.create_update_message(made.pop()))
            await ws.send(protocol.encode_save_marker(marker))
            await _until(ws, protocol.encode_save_ack(marker))
        seconds = time.perf_counter() - started
        return Typed(keystrokes, seconds, len(str(text).encode()))


async def _sync(ws: ClientConnection, doc: pycrdt.Doc[pycrdt.Text]) -> None:
    await ws.send(pycrdt.create_sync_message(doc))
    while True:
        message = await asyncio.wait_for(ws.recv(), 30)
        assert isinstance(message, bytes), "the server sent a text frame"
        if message[0] == SYNC:
            reply = pycrdt.handle_sync_message(message[1:], doc)
            if reply is not None:
                await ws.send(reply)
            if message[1] == SYNC_STEP2:
                return


async def _until(ws: ClientConnection, wanted: bytes) -> None:
    """Read frames until ``wanted`` comes (presence and other frames are skipped)."""
    while (await asyncio.wait_for(ws.recv(), 30)) != wanted:
        pass


def _presence(client_id: int, name: str) -> bytes:
    state = json.dumps({"user": {"name": name}})
    payload = awareness.encode([awareness.Entry(client_id, 1, state)])
    return bytes([AWARENESS]) + pycrdt.write_var_uint(len(payload)) + payload


@dataclass(frozen=True)
class Footprint:
    """A SQLite database's size once its WAL is folded in, and what its history holds."""

    file_bytes: int
    used_bytes: int  # pages in use: the file less its free list
    log_rows: int
    log_data_bytes: int
    checkpoints: int
    checkpoint_data_bytes: int
    versions: int
    tables: dict[str, int]  # bytes of pages per table and index (empty without dbstat)


def footprint(database: Path) -> Footprint:
    """Measure ``database`` (no server may be running on it): WAL checkpointed first."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        def one(sql: str) -> int:
            return int(connection.execute(sql).fetchone()[0] or 0)

        page = one("PRAGMA page_size")
        pages, free = one("PRAGMA page_count"), one("PRAGMA freelist_count")
        return Footprint(
            file_bytes=pages * page,
            used_bytes=(pages - free) * page,
            log_rows=one("SELECT count(*) FROM update_log"),
            log_data_bytes=one("SELECT sum(length(data)) FROM update_log"),
            checkpoints=one("SELECT count(*) FROM checkpoint"),
            checkpoint_data_bytes=one("SELECT sum(length(data)) FROM checkpoint"),
            versions=one("SELECT count(*) FROM version"),
            tables=_tables(connection),
        )
    finally:
        connection.close()


def _tables(connection: sqlite3.Connection) -> dict[str, int]:
    """Bytes of pages each table and index holds, if SQLite was built with dbstat."""
    try:
        rows = connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {str(name): int(size) for name, size in rows}
