"""Replacing a link is atomic: a link that is no longer current is refused everywhere."""

from __future__ import annotations

import asyncio

import httpx
from support.live import LiveServer
from support.yclient import YClient
from websockets.asyncio.client import connect


async def rotate(http: httpx.AsyncClient, token: str, which: str = "edit") -> httpx.Response:
    return await http.post(f"/api/notes/{token}/rotate", json={"which": which})


async def ws_close_code(server: LiveServer, token: str) -> int | None:
    """The code a websocket with ``token`` is closed with, or None if it was let in."""
    async with connect(f"{server.ws_url}/{token}") as ws:
        try:
            await asyncio.wait_for(ws.recv(), 5)  # let in: the room's step 1 arrives
        except Exception:  # closed before a message: refused
            return ws.close_code
        return None


async def closed_with(server: LiveServer, token: str) -> int | None:
    """Open a websocket with ``token`` and hold it until the server closes it (10 s at most)."""
    async with connect(f"{server.ws_url}/{token}") as ws:
        try:
            await asyncio.wait_for(ws.wait_closed(), 10)
        except TimeoutError:
            return None  # still open
        return ws.close_code


async def test_concurrent_rotations_serialise_and_every_answer_is_a_working_link(
    live: LiveServer,
) -> None:
    note = live.post_note("rotate me")
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        answers = await asyncio.gather(*(rotate(http, note["id"]) for _ in range(6)))
        codes = sorted(answer.status_code for answer in answers)
        # One wins; each other one finds the link replaced: 409 if it looked the link up
        # before the winner committed, 404 if after.
        assert codes[0] == 200 and set(codes[1:]) <= {404, 409}, codes
        [winner] = [answer.json()["id"] for answer in answers if answer.status_code == 200]
        assert (await http.get(f"/api/notes/{winner}")).status_code == 200
        assert (await http.get(f"/api/notes/{note['id']}")).status_code == 404
    assert await ws_close_code(live, winner) is None
    assert await ws_close_code(live, note["id"]) == 4404


async def test_a_replaced_link_opens_no_websocket_even_if_one_was_opening_meanwhile(
    live: LiveServer,
) -> None:
    note = live.post_note("race")
    async with YClient.connect(live.ws_url, note["id"]) as holder:  # the room is open
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
            openers = [asyncio.create_task(closed_with(live, note["id"])) for _ in range(20)]
            answer = await rotate(http, note["id"])
            assert answer.status_code == 200
            codes = await asyncio.gather(*openers)
        # Whether a socket was opening, already in, or came late: none may stay open.
        assert set(codes) <= {4403, 4404, 1013}, codes
        assert await holder.wait_closed(5) == 4403
    assert await ws_close_code(live, note["id"]) == 4404
    async with YClient.connect(live.ws_url, answer.json()["id"]) as fresh:
        fresh.append(" kept")
        await fresh.wait_saved()
    assert live.get_note(answer.json()["id"]).json()["content"] == "race kept"
