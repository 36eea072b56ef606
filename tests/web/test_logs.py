"""Logs: text or one JSON object per line, with the events' fields, and never a secret.

The session tests run the real ``collab-notes serve`` (its logging is set up by
the command) and read everything the process wrote.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from support.faults import break_appends_holding
from support.http import http
from support.live import LiveServer
from support.server import MakeServer, ServerProcess
from support.yclient import YClient
from websockets.asyncio.client import connect

from web import cli
from web.logs import JsonFormatter, redact, token_hash

NOTE_TEXT = "Quokka-Lantern-4417"
TYPED_TEXT = "Marmalade-Zeppelin-9902"
VIEWER_TEXT = "Pangolin-Kettle-3385"


@dataclass
class Session:
    """What a session did, and the secrets the log must not show."""

    log: str
    edit_token: str
    view_token: str
    new_edit_token: str

    @property
    def secrets(self) -> list[str]:
        texts = [NOTE_TEXT, TYPED_TEXT, VIEWER_TEXT]
        return [self.edit_token, self.view_token, self.new_edit_token, *texts]


async def edit_rotate_and_export(server: ServerProcess) -> Session:
    """Create, open, edit, be refused, rotate, export and read a note; then stop the server."""
    note = server.post_note(f"# {NOTE_TEXT}\n")
    edit, view = note["id"], note["view_id"]
    assert http.get(f"{server.url}/n/{edit}").status_code == 200
    async with (
        YClient.connect(server.ws_url, edit) as ana,
        YClient.connect(server.ws_url, view) as viewer,
    ):
        ana.append(TYPED_TEXT)
        await ana.wait_saved()
        viewer.append(VIEWER_TEXT)  # refused: a view link
        await viewer.wait_until(lambda c: any(m[0] == 2 for m in c.received))
        rotated = http.post(f"{server.url}/api/notes/{edit}/rotate", json={"which": "edit"})
        assert await ana.wait_closed() == 4403
    new_edit = rotated.json()["id"]
    export = http.get(f"{server.url}/api/notes/{new_edit}/export.md")
    assert TYPED_TEXT in export.text
    assert TYPED_TEXT in server.get_note(view).json()["content"]
    async with connect(f"{server.ws_url}/{edit}") as old_link:  # the old link: refused
        await old_link.wait_closed()
        assert old_link.close_code == 4404
    assert server.terminate() == 0
    return Session(server.log(), edit, view, new_edit)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_session_logs_no_token_and_no_note_text(
    make_server: MakeServer, log_format: str
) -> None:
    session = await edit_rotate_and_export(make_server(f"--log-format={log_format}").start())
    for secret in session.secrets:
        assert secret not in session.log
    # The requests were logged, with each token replaced by its hash.
    assert f"GET /n/{token_hash(session.edit_token)}" in session.log
    assert f"/ws/{token_hash(session.view_token)}" in session.log
    assert f"/api/notes/{token_hash(session.new_edit_token)}/export.md" in session.log
    assert "join note=1" in session.log and "leave note=1" in session.log


async def test_text_lines_read_as_before(make_server: MakeServer) -> None:
    session = await edit_rotate_and_export(make_server().start())
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.search(
        rf"^{stamp} INFO collab\.room: join note=1 peer=\S+ role=editor ", session.log, re.M
    )
    assert re.search(
        rf"^{stamp} WARNING web\.ws: refused \S+ with 4404: unknown note$", session.log, re.M
    )
    assert not any(line.startswith("{") for line in session.log.splitlines())


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every line of the log as a JSON object (each must parse)."""
    entries = []
    for line in log.splitlines():
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def one(entries: list[dict[str, Any]], logger: str, starts: str) -> dict[str, Any]:
    found = [e for e in entries if e["logger"] == logger and e["message"].startswith(starts)]
    assert found, f"no {logger} line starting {starts!r}"
    return found[0]


async def test_every_json_line_is_an_object_with_the_events_fields(
    make_server: MakeServer,
) -> None:
    session = await edit_rotate_and_export(make_server("--log-format=json").start())
    entries = json_lines(session.log)
    assert len(entries) > 20
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert entry["time"].endswith("Z")
        when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        assert when.utcoffset() == UTC.utcoffset(None)
    join = one(entries, "collab.room", "join ")
    assert join["level"] == "INFO"
    assert join["note"] == 1 and join["role"] == "editor" and join["peers"] >= 1
    assert re.fullmatch(r"127\.0\.0\.1:\d+", join["peer"])
    rotated = [e for e in entries if e["message"].startswith("leave ") and e["code"] == 4403]
    assert rotated and rotated[0]["note"] == 1 and "peers" in rotated[0]
    viewer = one(entries, "collab.room", "refused an edit from viewer")
    assert viewer["note"] == 1 and viewer["role"] == "viewer"
    refusal = one(entries, "web.ws", "refused ")
    assert refusal["level"] == "WARNING"
    assert refusal["code"] == 4404 and refusal["reason"] == "unknown note" and refusal["peer"]
    opened = one(entries, "collab.manager", "opened note=1")
    assert opened["note"] == 1 and isinstance(opened["ms"], int) and opened["updates"] >= 0
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    export = next(e for e in access if e["path"].endswith("/export.md"))
    assert export["method"] == "GET" and export["status"] == 200
    assert export["path"] == f"/api/notes/{token_hash(session.new_edit_token)}/export.md"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", export["client"])
    created = next(e for e in access if e["method"] == "POST" and e["path"] == "/api/notes")
    assert created["status"] == 201
    handshake = one(entries, "uvicorn.error", f'{join["peer"]} - "WebSocket')
    assert handshake["path"] == f"/ws/{token_hash(session.edit_token)}"
    assert handshake["status"] == 101
    assert "color_message" not in json.dumps(entries)


@pytest.fixture
def json_log(live: LiveServer) -> Iterator[io.StringIO]:
    """The in-process server's log records, through the JSON formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    yield out
    logging.getLogger().removeHandler(handler)


async def test_a_storage_error_is_a_json_line_with_the_note_and_the_error(
    live: LiveServer, json_log: io.StringIO
) -> None:
    break_appends_holding(live.services.store, b"BOOM")
    token = live.post_note(NOTE_TEXT)["id"]
    async with YClient.connect(live.ws_url, token) as ana:
        ana.append("BOOM")
        assert await ana.wait_closed(10) == 1011
    live.wait_for_log("closing")
    entries = json_lines(json_log.getvalue())
    writer = one(entries, "storage.writer", "unexpected error writing 1 jobs")
    assert writer["level"] == "ERROR" and writer["jobs"] == 1 and writer["notes"] == [1]
    assert "RuntimeError: an injected bug in the writer" in writer["exception"]
    pipeline = one(entries, "collab.pipeline", "could not save an update of note=1")
    assert pipeline["note"] == 1 and "an injected bug" in pipeline["error"]
    closing = one(entries, "collab.peer", "closing ")
    assert closing["code"] == 1011 and closing["peer"] == pipeline["senders"]
    assert token not in json_log.getvalue() and NOTE_TEXT not in json_log.getvalue()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('"GET /n/AbC-12_x HTTP/1.1" 200', f'"GET /n/{token_hash("AbC-12_x")} HTTP/1.1" 200'),
        ("/ws/tok?x=1", f"/ws/{token_hash('tok')}?x=1"),
        ("/api/notes/tok/rotate", f"/api/notes/{token_hash('tok')}/rotate"),
        ('{"path": "/n/tok"}', f'{{"path": "/n/{token_hash("tok")}"}}'),
        ("POST /api/notes HTTP/1.1", "POST /api/notes HTTP/1.1"),
        ("/static/app.js and /healthz", "/static/app.js and /healthz"),
    ],
)
def test_redact_replaces_the_token_in_a_links_path_only(line: str, expected: str) -> None:
    assert redact(line) == expected
    assert redact(redact(line)) == expected  # a redacted line stays as it is


@pytest.mark.sqlite_only  # refused because another server holds the SQLite file
def test_a_refused_start_leaves_the_processs_logging_alone(
    live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """serve takes over the root logger only once it will serve (tests call it in process)."""
    before = list(logging.getLogger().handlers)
    url = live.settings.database_url
    assert cli.main(["serve", "--database-url", url, "--log-format", "json"]) == cli.EXIT_USAGE
    assert "already serving" in capsys.readouterr().err
    assert logging.getLogger().handlers == before
