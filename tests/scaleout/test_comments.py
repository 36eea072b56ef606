"""Comments made on one process, heard on another within a second."""

from __future__ import annotations

import time

import httpx
from scaleout.helpers import Nodes, metrics_when, new_note
from support.yclient import YClient


async def test_a_comment_made_on_one_process_is_heard_on_the_other_within_a_second(
    nodes: Nodes,
) -> None:
    """Ana on A and Ben on B hear each other's comments; then, with the note no longer
    open on A, a comment made there still reaches Ben."""
    a, b = nodes(2, "--room-grace-s", "0")
    token = new_note(b, "Minutes")
    heard_in: list[float] = []

    async def heard(client: YClient, count: int, began: float) -> dict[str, object]:
        await client.wait_until(lambda c: len(c.notices()) == count, timeout_s=1.0)
        heard_in.append(time.monotonic() - began)
        return client.notices()[-1]

    async with httpx.AsyncClient(timeout=20) as api, YClient.connect(b.ws_url, token) as ben:
        await ben.subscribe_notices()
        async with YClient.connect(a.ws_url, token) as ana:
            await ana.subscribe_notices()
            await ana.set_presence({"user": {"name": "Ana"}})
            await ben.set_presence({"user": {"name": "Ben"}})
            # Each sees the other: both processes' fan-outs follow the note.
            await ben.wait_until(lambda c: ana.client_id in c.states)
            await ana.wait_until(lambda c: ben.client_id in c.states)
            began = time.monotonic()
            url = f"/api/notes/{token}/comments"
            made = await api.post(a.url + url, json={"body": "from A", "from": 0, "to": 1})
            assert made.status_code == 201, made.text
            assert (await heard(ben, 1, began))["thread"] == made.json()
            began = time.monotonic()
            thread = made.json()["id"]
            replied = await api.post(f"{b.url}{url}/{thread}/replies", json={"body": "from B"})
            assert replied.status_code == 201, replied.text
            # Ana heard the first comment too (made on her process), then the reply.
            assert (await heard(ana, 2, began))["thread"] == replied.json()
        await metrics_when(a, lambda m: m["collab_rooms_loaded"] == 0)
        began = time.monotonic()
        again = await api.post(a.url + url, json={"body": "A, closed", "from": 1, "to": 3})
        assert again.status_code == 201, again.text
        assert (await heard(ben, 3, began))["thread"] == again.json()
    print("  heard on the other process in " + ", ".join(f"{s * 1000:.0f} ms" for s in heard_in))
