"""View-only links with the stock npm y-websocket client: enforced by the server."""

from __future__ import annotations

import pytest
from interop.nodeclient import NodeClient
from support.http import http
from support.live import LiveServer

pytestmark = pytest.mark.interop


async def test_a_viewers_edits_never_reach_editors_or_the_database(server: LiveServer) -> None:
    note = server.post_note("original")
    async with (
        NodeClient.start(server.ws_url, note["id"], name="ed", watch=True) as editor,
        NodeClient.start(server.ws_url, note["view_id"], name="vi", watch=True) as viewer,
    ):
        await viewer.insert(0, "VANDAL ")  # a stock client does not know it may not
        await editor.insert(len("original"), " +edit")
        # The viewer still reads: it receives the editor's edit after its own was refused.
        await viewer.wait_for(
            lambda e: e["event"] == "update" and e["origin"] == "remote" and "+edit" in e["text"]
        )
        assert await editor.text() == "original +edit"
    assert server.get_note(note["id"]).json()["content"] == "original +edit"
    assert "refused an edit from viewer" in server.log()


async def test_a_viewer_is_seen_in_presence(server: LiveServer) -> None:
    note = server.post_note()
    async with (
        NodeClient.start(server.ws_url, note["id"], name="ed") as editor,
        NodeClient.start(server.ws_url, note["view_id"], name="vi") as viewer,
    ):
        await editor.wait_for(
            lambda e: (
                e["event"] == "awareness" and viewer.client_id in {int(k) for k in e["states"]}
            )
        )


async def test_rotating_the_view_link_closes_viewers_with_4403_and_they_stay_away(
    server: LiveServer,
) -> None:
    note = server.post_note()
    async with (
        NodeClient.start(server.ws_url, note["id"], name="ed") as editor,
        NodeClient.start(server.ws_url, note["view_id"], name="vi") as viewer,
    ):
        response = http.post(f"{server.url}/api/notes/{note['id']}/rotate", json={"which": "view"})
        assert response.status_code == 200
        closed = await viewer.wait_for("close", timeout=1.0)
        assert closed["code"] == 4403
        await editor.insert(0, "still editing")
        assert await editor.text() == "still editing"
