"""Deleting a note: 204, links and connections refused while deleted, undo, then purged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from support.http import http
from support.live import LiveServer
from support.sql import query
from support.yclient import YClient
from websockets.asyncio.client import connect


def delete(server: LiveServer, token: str) -> httpx.Response:
    return http.delete(f"{server.url}/api/notes/{token}", timeout=10)


def undelete(server: LiveServer, token: str) -> httpx.Response:
    return http.post(f"{server.url}/api/notes/{token}/undelete", timeout=10)


async def close_of(server: LiveServer, token: str) -> tuple[int | None, str | None]:
    """Open a websocket with ``token`` and return how the server closed it."""
    async with connect(f"{server.ws_url}/{token}") as ws:
        await asyncio.wait_for(ws.wait_closed(), 5)
        return ws.close_code, ws.close_reason


async def test_a_deleted_note_answers_404_and_4404_until_it_is_restored(
    live: LiveServer,
) -> None:
    note = live.post_note("# Doomed\nbut saved\n")
    async with YClient.connect(live.ws_url, note["view_id"]):
        pass  # the view token's grant is cached now: deleting must forget it
    response = delete(live, note["id"])
    assert response.status_code == 204 and response.content == b""

    for token in (note["id"], note["view_id"]):
        assert live.get_note(token).status_code == 404
        assert http.get(f"{live.url}/api/notes/{token}/export.md").status_code == 404
        assert await close_of(live, token) == (4404, "unknown note")
    page = http.get(live.url + note["url"])
    assert page.status_code == 404 and "This note was deleted" in page.text
    assert "Restore the note" in page.text
    view_page = http.get(live.url + note["view_url"])
    assert view_page.status_code == 404 and "Restore the note" not in view_page.text
    assert note["id"] not in view_page.text

    assert delete(live, note["id"]).status_code == 204  # again: nothing changes
    restored = undelete(live, note["id"])
    assert restored.status_code == 200
    assert restored.json()["content"] == "# Doomed\nbut saved\n"
    assert live.get_note(note["view_id"]).json()["title"] == "Doomed"
    async with YClient.connect(live.ws_url, note["id"]) as client:
        assert str(client.text) == "# Doomed\nbut saved\n"


async def test_deleting_closes_every_open_connection_with_4404(live: LiveServer) -> None:
    note = live.post_note("# Open\n")
    async with (
        YClient.connect(live.ws_url, note["id"]) as editor,
        YClient.connect(live.ws_url, note["view_id"]) as viewer,
    ):
        assert delete(live, note["id"]).status_code == 204
        assert await editor.wait_closed() == 4404
        assert await viewer.wait_closed() == 4404


def test_a_view_token_may_neither_delete_nor_restore(live: LiveServer) -> None:
    note = live.post_note("# Mine\n")
    assert delete(live, note["view_id"]).status_code == 403
    assert live.get_note(note["id"]).status_code == 200
    assert delete(live, note["id"]).status_code == 204
    refused = undelete(live, note["view_id"])
    assert refused.status_code == 403
    assert refused.json() == {"detail": "only the edit link can restore a note"}
    assert delete(live, "no-such-token").status_code == 404
    assert undelete(live, "no-such-token").status_code == 404


def note_ids(url: str) -> list[int]:
    return [row[0] for row in query(url, "SELECT id FROM note")]


@pytest.mark.slow
def test_a_deleted_note_is_purged_with_its_history_after_the_window(
    make_live: Callable[..., LiveServer], database_url: str
) -> None:
    # A window of 0.00003 days (2.6 s); the purge looks every tenth of it.
    server = make_live(deleted_note_retention_days=0.00003, room_grace_s=0.1).start()
    kept = server.post_note("# Kept\n")
    doomed = server.post_note("# Doomed\n")
    assert delete(server, doomed["id"]).status_code == 204
    deadline = time.monotonic() + 20
    while len(note_ids(database_url)) != 1:
        assert time.monotonic() < deadline, "the deleted note was never purged"
        time.sleep(0.1)
    assert query(database_url, "SELECT count(*) FROM update_log") == [(1,)]
    assert undelete(server, doomed["id"]).status_code == 404
    assert server.get_note(kept["id"]).json()["title"] == "Kept"
    assert "purged 1 deleted notes" in server.log()
