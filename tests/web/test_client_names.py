"""Names from clients (presence names, version names, restore authors) reach the database
cleaned, or are refused: alike on SQLite and PostgreSQL (which refuses a NUL in text)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from support.http import http
from support.live import LiveServer
from support.sql import query
from support.yclient import YClient

HIDDEN = "\x00\u202e\u200b\u2066\ufeff\x7f\x9b"
"""NUL, a bidi override, a zero-width space, a bidi isolate, a BOM, DEL and a C1 control."""


def _post(live: LiveServer, path: str, body: str) -> Any:
    """POST a JSON text as it is (a lone surrogate travels as its escape, "\\ud800")."""
    headers = {"Content-Type": "application/json"}
    return http.post(f"{live.url}{path}", content=body.encode(), headers=headers)


def _versions(live: LiveServer, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = http.get(f"{live.url}/api/notes/{token}/versions").json()[
        "versions"
    ]
    return found


def test_a_version_name_is_kept_cleaned_and_refused_with_a_reason_when_nothing_is_left(
    live: LiveServer,
) -> None:
    note = live.post_note("draft")
    path = f"/api/notes/{note['id']}/versions"
    named = _post(live, path, json.dumps({"name": f"  {HIDDEN}Re\u200blease\t1 {HIDDEN} "}))
    assert named.status_code == 201, named.text
    assert named.json()["name"] == "Release 1"
    assert _versions(live, note["id"])[0]["name"] == "Release 1"
    for name, reason in (
        ("   ", "a name needs a visible character"),
        ("\u200b\u202e\x00", "a name needs a visible character"),
        ("a\ud800", "not valid JSON"),  # read_json's parse refuses it already
    ):
        refused = _post(live, path, json.dumps({"name": name}))
        assert refused.status_code == 422, (name, refused.text)
        assert reason in " ".join(refused.json()["problems"])
    assert [v["name"] for v in _versions(live, note["id"])] == ["Release 1", None]


@pytest.mark.slow
async def test_a_restore_author_is_kept_cleaned_and_a_lone_surrogate_is_refused(
    live: LiveServer,
) -> None:
    note = live.post_note("first")
    first = _versions(live, note["id"])[0]["id"]
    path = f"/api/notes/{note['id']}/versions/{first}/restore"
    refused = _post(live, path, json.dumps({"author": "Ana\ud800"}))
    assert refused.status_code == 422 and "not valid JSON" in refused.text
    # Ana types, then restores from her own page: a restore spares only others' typing.
    async with YClient.connect(live.ws_url, note["id"]) as client:
        await client.set_presence({"user": {"name": "Ana"}})
        client.append(" and more")
        await client.wait_saved()
        restored = await asyncio.to_thread(
            _post, live, path, json.dumps({"author": f"{HIDDEN} Ana{HIDDEN}"})
        )
    assert restored.status_code == 200, restored.text
    assert restored.json()["note"]["content"] == "first"
    assert "Ana" in _versions(live, note["id"])[0]["authors"]
    authors = query(live.settings.database_url, "SELECT DISTINCT author FROM update_log")
    assert ("Ana",) in authors


async def test_a_presence_name_with_hidden_characters_is_kept_cleaned_and_edits_are_saved(
    live: LiveServer,
) -> None:
    note = live.post_note("")
    async with (
        YClient.connect(live.ws_url, note["id"]) as ana,
        YClient.connect(live.ws_url, note["id"]) as ben,
    ):
        await ana.set_presence({"user": {"name": f"A{HIDDEN}na \u2028 B."}})
        await ben.wait_until(lambda c: ana.client_id in c.states)
        for chunk in "typed":
            ana.append(chunk)
            await ana.wait_saved()
        await ben.wait_text("typed")
        assert not ana.closed.is_set() and not ben.closed.is_set()
    authors = query(live.settings.database_url, "SELECT DISTINCT author FROM update_log")
    assert authors == [("Ana B.",)]


async def test_a_presence_name_with_a_lone_surrogate_closes_its_sender_with_1007(
    live: LiveServer,
) -> None:
    note = live.post_note("")
    async with (
        YClient.connect(live.ws_url, note["id"]) as bad,
        YClient.connect(live.ws_url, note["id"]) as other,
    ):
        await bad.set_presence({"user": {"name": "Ana\ud800"}})
        assert await bad.wait_closed() == 1007
        other.append("still saved")
        await other.wait_saved()
        assert not other.closed.is_set()
