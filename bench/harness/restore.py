"""Restore: how long opening a note takes when its log holds many small updates,
before and after the server writes a checkpoint of it (the log stays, as the
note's history; a server from before the history release compacted the log into
a snapshot instead, which the "after" figure covers too).

The note is created through the API; its update log is then filled directly in
SQLite, with updates made by Yjs the way a client typing one character at a
time makes them. The server writes a note's checkpoint when it closes the
room, which it does on shutdown, so a restart in between gives the "after"
figure.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from harness import loadgen
from harness.config import Case
from harness.paths import Paths
from harness.servers import RunningServer, ServerSpec, running

Metrics = dict[str, float | int | bool | None]


@functools.cache
def typed_updates(paths: Paths, count: int) -> tuple[bytes, ...]:
    """``count`` Yjs updates, each appending one character to the note's text.

    Made by Yjs in Node (bench/loadgen/typed-updates.mjs): pycrdt takes seconds
    for what Yjs does in a fraction of one.
    """
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "updates.bin"
        subprocess.run(
            ["node", str(paths.loadgen.parent / "typed-updates.mjs"), str(count), str(target)],
            check=True,
            timeout=120,
        )
        blob = target.read_bytes()
    updates, offset = [], 0
    while offset < len(blob):
        (size,) = struct.unpack_from("<I", blob, offset)
        updates.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    if len(updates) != count:
        raise RuntimeError(f"typed-updates.mjs wrote {len(updates)} updates, not {count}")
    return tuple(updates)


def measure(case: Case, spec: ServerSpec, paths: Paths, logs: Path) -> Metrics:
    """Fill a note's log with ``updates`` rows, open it, restart, open it again."""
    count = int(case.params["updates"])
    updates = typed_updates(paths, count)
    paths.data.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="restore-", dir=paths.data))
    try:
        with running(spec, paths, logs, workdir=workdir) as server:
            token = _create_note(server)
            # The server only holds an flock on a sibling file; SQLite (WAL) lets us
            # write beside it, and the note's room is not open, so nothing is cached.
            note = _append_log(server.database, token, updates)
            before = _open(case, server, paths, logs, token, count)
        # Stopping closed the room, and closing a room writes its checkpoint.
        rows_left, has_snapshot = _log_state(workdir / "notes.db", note)
        with running(spec, paths, logs, workdir=workdir) as server:
            after = _open(case, server, paths, logs, token, count)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "log_rows": count,
        "before_ms": before["synced_ms"],
        "after_ms": after["synced_ms"],
        "complete": bool(before["complete"] and after["complete"]),
        "log_rows_after_restart": rows_left,
        "compacted": has_snapshot,
    }


def _create_note(server: RunningServer) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/notes",
        data=b"{}",
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["id"])


def _append_log(database: Path, token: str, updates: tuple[bytes, ...]) -> int:
    with sqlite3.connect(database) as connection:
        row = connection.execute("SELECT id FROM note WHERE edit_token = ?", (token,)).fetchone()
        if row is None:
            raise RuntimeError(f"note {token} is not in {database}")
        note = int(row[0])
        if _has_history(connection):  # dense positions, and the head advanced with them
            connection.executemany(
                "INSERT INTO update_log (note_id, position, data, committed_at, added, removed) "
                "VALUES (?, ?, ?, CURRENT_TIMESTAMP, 1, 0)",
                ((note, position, update) for position, update in enumerate(updates, start=1)),
            )
            connection.execute("UPDATE note SET head = ? WHERE id = ?", (len(updates), note))
        else:  # a server from before the history release
            connection.executemany(
                "INSERT INTO update_log (note_id, data) VALUES (?, ?)",
                ((note, update) for update in updates),
            )
    connection.close()
    return note


def _has_history(connection: sqlite3.Connection) -> bool:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_schema")}
    return "checkpoint" in tables


def _log_state(database: Path, note: int) -> tuple[int, bool]:
    """The rows in the note's log, and whether a checkpoint (or snapshot) covers them all."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT count(*) FROM update_log WHERE note_id = ?", (note,)
        ).fetchone()[0]
        if _has_history(connection):
            covered = connection.execute(
                "SELECT max(position) = (SELECT head FROM note WHERE id = ?) FROM checkpoint "
                "WHERE note_id = ?",
                (note, note),
            ).fetchone()[0]
        else:
            covered = (
                rows == 0
                and connection.execute(
                    "SELECT count(*) FROM snapshot WHERE note_id = ?", (note,)
                ).fetchone()[0]
            )
    connection.close()
    return int(rows), bool(covered)


def _open(
    case: Case, server: RunningServer, paths: Paths, logs: Path, token: str, chars: int
) -> dict[str, float]:
    """Time one client opening the note."""
    params = {"room": token, "expect_chars": chars, "timeout_s": case.params["timeout_s"]}
    outcome = loadgen.run(
        paths, server, "open", params, log=logs / "loadgen.log", timeout_s=case.timeout_s
    )
    return outcome.result
