"""A note's comment link: it reads live, its edits are refused as a view link's are,
and replacing it cuts it at once."""

from __future__ import annotations

import pycrdt
from support.http import http
from support.live import LiveServer
from support.search import wait_found
from support.yclient import YClient
from websockets.asyncio.client import connect

from collab import protocol

DENIED = protocol.encode_permission_denied("this link is view-only: edits are not saved")


async def _crafted_edit_answer(server: LiveServer, token: str) -> bytes:
    """What the server answers a hand-made edit sent over ``token``."""
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "VANDAL ")
    async with connect(f"{server.ws_url}/{token}") as ws:
        await ws.recv()  # the server's step 1
        await ws.send(protocol.encode_sync_update(doc.get_update()))
        while True:
            message = await ws.recv()
            assert isinstance(message, bytes)
            if message[0] != protocol.MessageType.AWARENESS:
                return message


async def test_a_comment_links_crafted_edit_is_refused_as_a_view_links_and_it_reads_live(
    live: LiveServer,
) -> None:
    note = live.post_note("original")
    assert await _crafted_edit_answer(live, note["view_id"]) == DENIED
    assert await _crafted_edit_answer(live, note["comment_id"]) == DENIED
    async with (
        YClient.connect(live.ws_url, note["id"]) as editor,
        YClient.connect(live.ws_url, note["comment_id"]) as commenter,
    ):
        await commenter.wait_text("original")
        editor.append(" +edit")
        await commenter.wait_text("original +edit")
        assert not commenter.closed.is_set()
    assert live.get_note(note["id"]).json()["content"] == "original +edit"
    assert live.log().count("refused an edit from viewer") == 2


async def test_the_comment_link_is_handed_to_editors_and_commenters_never_to_viewers(
    live: LiveServer,
) -> None:
    note = live.post_note("# Plans")
    assert note["comment_url"] == f"/n/{note['comment_id']}"
    as_commenter = live.get_note(note["comment_id"]).json()
    assert as_commenter["role"] == "commenter" and as_commenter["content"] == "# Plans"
    assert "id" not in as_commenter and as_commenter["comment_id"] == note["comment_id"]
    as_viewer = live.get_note(note["view_id"]).json()
    assert "comment_id" not in as_viewer and note["comment_id"] not in str(as_viewer)
    page = http.get(f"{live.url}/n/{note['view_id']}").text
    assert note["comment_id"] not in page
    assert http.get(f"{live.url}/api/notes/{note['comment_id']}/export.md").text == "# Plans"
    for token in (note["comment_id"], note["view_id"]):  # a commenter cannot rotate or delete
        assert (
            http.post(f"{live.url}/api/notes/{token}/rotate", json={"which": "comment"}).status_code
            == 403
        )
        assert http.delete(f"{live.url}/api/notes/{token}").status_code == 403
    [found] = await wait_found(live, "plans", [note["comment_id"]])
    assert (found["id"], found["role"]) == (note["comment_id"], "commenter")


async def test_replacing_the_comment_link_closes_its_connections_at_once(
    live: LiveServer,
) -> None:
    note = live.post_note("x")
    async with (
        YClient.connect(live.ws_url, note["comment_id"]) as commenter,
        YClient.connect(live.ws_url, note["view_id"]) as viewer,
    ):
        response = http.post(f"{live.url}/api/notes/{note['id']}/rotate", json={"which": "comment"})
        assert response.status_code == 200
        rotated = response.json()
        assert (rotated["id"], rotated["view_id"]) == (note["id"], note["view_id"])
        assert rotated["comment_id"] != note["comment_id"]
        assert await commenter.wait_closed(timeout_s=1.0) == 4403
        assert not viewer.closed.is_set()
    assert live.get_note(note["comment_id"]).status_code == 404
    async with connect(f"{live.ws_url}/{note['comment_id']}") as old_link:
        await old_link.wait_closed()
        assert old_link.close_code == 4404
    assert live.get_note(rotated["comment_id"]).json()["role"] == "commenter"
