"""Comments with stock npm clients: Yjs itself reads the server's anchors, and a note
receiving comments keeps syncing text for clients that know nothing of them."""

from __future__ import annotations

import pytest
from interop.nodeclient import NodeClient
from support.http import http
from support.live import LiveServer
from support.yclient import YClient

pytestmark = pytest.mark.interop

TEXT = "Intro: café 😀 beta ĳ gamma."


def units(text: str) -> int:
    """A string's length as Yjs counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


async def where(client: NodeClient, thread: dict[str, object]) -> tuple[int, int]:
    """The thread's range in ``client``'s document, as Yjs resolves it."""
    anchor = thread["anchor"]
    assert isinstance(anchor, dict)
    ends = [
        (await client.request({"cmd": "position", "relative": anchor[end]}))["index"]
        for end in ("start", "end")
    ]
    return ends[0], ends[1]


def js_slice(text: str, ends: tuple[int, int]) -> str:
    data = text.encode("utf-16-le")
    return data[2 * ends[0] : 2 * ends[1]].decode("utf-16-le")


async def test_yjs_resolves_the_anchors_through_edits_and_stock_clients_keep_syncing(
    server: LiveServer,
) -> None:
    note = server.post_note(TEXT)
    url = f"{server.url}/api/notes/{note['comment_id']}/comments"
    start = units(TEXT[: TEXT.index("😀")])
    async with (
        NodeClient.start(server.ws_url, note["id"], name="ana", watch=True) as ana,
        NodeClient.start(server.ws_url, note["comment_id"], name="rev", watch=True) as rev,
        YClient.connect(server.ws_url, note["view_id"]) as page,
    ):
        await page.subscribe_notices()
        await rev.wait_text(TEXT)
        made = http.post(url, json={"body": "emoji?", "from": start, "to": start + 7})
        assert made.status_code == 201 and made.json()["quote"] == "😀 beta"
        thread = made.json()
        whole = http.post(url, json={"body": "all", "from": 0, "to": units(TEXT)}).json()
        assert js_slice(TEXT, await where(rev, thread)) == "😀 beta"
        assert await where(ana, whole) == (0, units(TEXT))
        await ana.insert(0, "» ")  # before it
        await ana.insert(units("» Intro: café 😀 be"), "-X-")  # inside it
        await ana.insert(units("» Intro: café 😀 be-X-ta"), "!")  # just after it
        edited = "» Intro: café 😀 be-X-ta! ĳ gamma."
        await rev.wait_text(edited)  # the stock client synced every edit
        assert js_slice(edited, await where(rev, thread)) == "😀 be-X-ta"
        await page.wait_until(lambda c: len(c.notices()) == 2, timeout_s=5)
        assert [n["thread"]["quote"] for n in page.notices()] == ["😀 beta", TEXT]
        http.post(f"{url}/{thread['id']}/replies", json={"body": "yes"})
        await ana.delete(units("» Intro: café "), units("😀 be-X-ta"))
        removed = "» Intro: café ! ĳ gamma."
        await rev.wait_text(removed)
        at = units("» Intro: café ")
        assert await where(rev, thread) == (at, at)  # collapsed: on removed text
        assert await where(ana, thread) == (at, at)
        await rev.insert(0, "VANDAL ")  # a commenter's stock client edits: refused
        await ana.insert(0, "ok ")
        await rev.wait_for(  # it still reads, after its own edit was refused
            lambda e: e["event"] == "update" and e["origin"] == "remote" and "ok " in e["text"]
        )
        assert await ana.text() == "ok " + removed
        for client in (ana, rev):
            assert not client.drain("close"), "a stock client's socket closed"
    assert server.get_note(note["id"]).json()["content"] == "ok " + removed
