"""A link replaced, or a note deleted, on one process closes its connections on every other."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import pytest
from PIL import Image
from scaleout.helpers import Nodes, new_note
from support.http import http
from support.server import ServerProcess
from websockets.asyncio.client import ClientConnection, connect

from web.access import DELETED_REASON, REPLACED_REASON

pytestmark = pytest.mark.interop


async def held(server: ServerProcess, token: str) -> ClientConnection:
    """A websocket on ``server``, let into the note (its sync step 1 has arrived)."""
    ws = await connect(f"{server.ws_url}/{token}")
    await asyncio.wait_for(ws.recv(), 5)
    return ws


async def closed_at(ws: ClientConnection, seconds: float = 3.0) -> float | None:
    """When the server closed ``ws`` (time.monotonic()), or None if it is still open."""
    try:
        await asyncio.wait_for(ws.wait_closed(), seconds)
    except TimeoutError:
        return None
    return time.monotonic()


@pytest.mark.parametrize("change", ["rotate", "delete"])
async def test_a_change_of_access_on_one_process_closes_connections_on_the_others(
    nodes: Nodes, change: str
) -> None:
    a, b, c = nodes(3)
    token = new_note(a, "shared")
    view = http.get(f"{a.url}/api/notes/{token}", timeout=10).json()["view_id"]
    sockets = [await held(server, link) for server in (b, c) for link in (token, view)]
    closing = [asyncio.create_task(closed_at(ws)) for ws in sockets]
    changed = time.monotonic()
    async with httpx.AsyncClient(base_url=a.url, timeout=10) as client:
        if change == "rotate":
            response = await client.post(f"/api/notes/{token}/rotate", json={"which": "edit"})
            expected = [(4403, REPLACED_REASON), None] * 2  # the view link still works
        else:
            response = await client.delete(f"/api/notes/{token}")
            expected = [(4404, DELETED_REASON)] * 4
    assert response.status_code in (200, 204), response.text
    for ws, wanted, at in zip(sockets, expected, await asyncio.gather(*closing), strict=True):
        if wanted is None:
            assert at is None, "a link that was not changed was closed"
            await ws.close()
            continue
        assert at is not None, "still open 3 s after the change"
        assert (ws.close_code, ws.close_reason) == wanted
        assert at - changed < 1.0, f"closed {at - changed:.2f} s after the change"


def test_a_file_uploaded_on_one_process_reads_on_the_other_until_deleted_there(
    nodes: Nodes,
) -> None:
    a, b = nodes(2)
    token = new_note(a, "a picture")
    view = http.get(f"{a.url}/api/notes/{token}", timeout=10).json()["view_id"]
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (9, 9, 9)).save(buffer, "GIF")
    picture = buffer.getvalue()
    files = {"file": ("dot.gif", picture, "image/gif")}
    made = http.post(f"{a.url}/api/notes/{token}/files", files=files, timeout=10)
    assert made.status_code == 201, made.text
    address = f"{b.url}/api/notes/{view}/files/{made.json()['id']}"
    read = http.get(address, timeout=10)
    assert (read.status_code, read.content) == (200, picture)
    assert http.delete(f"{a.url}/api/notes/{token}", timeout=10).status_code == 204
    assert http.get(address, timeout=10).status_code == 404
