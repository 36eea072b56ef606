"""The websocket contract over a real server: sync, broadcast, presence, errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from support.http import http
from support.live import LiveServer
from support.services import postgres_server
from support.yclient import YClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from collab import protocol
from web import cli


@pytest.fixture
def server(live: LiveServer) -> LiveServer:
    """Most of these tests need no process of their own: an in-process server."""
    return live


async def test_two_pycrdt_clients_converge_and_the_rest_api_agrees(server: LiveServer) -> None:
    note = server.post_note("start ")
    async with (
        YClient.connect(server.ws_url, note["id"]) as ana,
        YClient.connect(server.ws_url, note["id"]) as ben,
    ):
        assert str(ana.text) == "start "
        ana.append("from ana. ")
        ben.insert(0, ">> ")
        await ana.wait_until(lambda c: "ana" in str(c.text) and ">>" in str(c.text))
        await ben.wait_until(lambda c: str(c.text) == str(ana.text))
        expected = str(ana.text)
    assert server.get_note(note["id"]).json()["content"] == expected


async def test_an_unknown_note_is_closed_with_4404_and_nothing_is_stored(
    server: LiveServer, db_path: object
) -> None:
    async with connect(f"{server.ws_url}/not-a-note") as ws:
        await ws.wait_closed()
        assert ws.close_code == 4404
        assert ws.close_reason == "unknown note"
    assert "opened note" not in server.log()


async def test_a_text_frame_is_refused_with_1003_and_the_room_goes_on(
    server: LiveServer,
) -> None:
    note = server.post_note()
    async with YClient.connect(server.ws_url, note["id"]) as good:
        async with connect(f"{server.ws_url}/{note['id']}") as bad:
            await bad.send("hello")
            await bad.wait_closed()
            assert bad.close_code == 1003
        good.append("still here")
        await asyncio.sleep(0)
    assert http.get(f"{server.url}/api/notes/{note['id']}").json()["content"] == "still here"
    assert "text frames are not part of the y-websocket protocol" in server.log()


async def test_a_malformed_frame_is_refused_with_1007(server: LiveServer) -> None:
    note = server.post_note()
    async with connect(f"{server.ws_url}/{note['id']}") as bad:
        await bad.send(b"\x00\x02\x04\xff\xff\xff\xff")
        await bad.wait_closed()
        assert bad.close_code == 1007


async def test_a_newcomer_sees_present_peers_at_once(server: LiveServer) -> None:
    note = server.post_note()
    async with YClient.connect(server.ws_url, note["id"]) as ana:
        await ana.set_presence({"user": {"name": "Ana"}})
        async with YClient.connect(server.ws_url, note["id"]) as ben:
            await ben.wait_until(lambda c: ana.client_id in c.states, timeout_s=1.0)
            await ben.set_presence({"user": {"name": "Ben"}})
            await ana.wait_until(lambda c: ben.client_id in c.states, timeout_s=1.0)
        await ana.wait_until(lambda c: ben.client_id not in c.states, timeout_s=1.0)
    assert "leave note=" in server.log() and "peers=1" in server.log()


async def test_an_echoed_presence_is_not_relayed(server: LiveServer) -> None:
    note = server.post_note()
    async with (
        YClient.connect(server.ws_url, note["id"]) as ana,
        YClient.connect(server.ws_url, note["id"]) as ben,
        YClient.connect(server.ws_url, note["id"]) as cat,
    ):
        await ana.set_presence({"name": "Ana"})
        await ben.wait_until(lambda c: ana.client_id in c.states)
        await cat.wait_until(lambda c: ana.client_id in c.states)
        echo = next(f for f in reversed(ben.received) if f[0] == 1)
        frames_before = len(cat.received)
        for _ in range(10):
            await ben.ws.send(echo)  # what a stock client does with every frame it gets
        await ana.set_presence({"name": "Ana", "cursor": 3})
        await cat.wait_until(lambda c: c.states.get(ana.client_id, {}).get("cursor") == 3)
        assert len(cat.received) == frames_before + 1  # the change, and none of the echoes


def test_a_second_worker_is_refused_with_a_reason(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{db_path}"
    assert cli.main(["serve", "--workers", "2", "--database-url", url]) == cli.EXIT_USAGE
    assert "needs --redis-url" in capsys.readouterr().err


@pytest.mark.sqlite_only  # PostgreSQL serves any number of processes (tests/scaleout)
def test_a_second_server_on_the_same_database_is_refused(
    live: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = live.settings.database_url
    assert cli.main(["serve", "--database-url", url, "--port", "1"]) == cli.EXIT_USAGE
    assert "already serving" in capsys.readouterr().err


async def test_a_page_from_another_origin_is_refused_with_4403(server: LiveServer) -> None:
    token = server.post_note()["id"]
    async with connect(
        f"{server.ws_url}/{token}", additional_headers={"Origin": "https://evil.example"}
    ) as ws:
        await ws.wait_closed()
        assert ws.close_code == 4403
        assert "not allowed" in (ws.close_reason or "")


async def test_a_page_from_the_servers_own_origin_is_accepted(server: LiveServer) -> None:
    token = server.post_note("ok")["id"]
    async with connect(
        f"{server.ws_url}/{token}", additional_headers={"Origin": server.url}
    ) as page:
        # Answered, not closed: a server refusing the Origin would close with 4403 here.
        await page.send(protocol.encode_query_awareness())
        assert (await asyncio.wait_for(page.recv(), 5))[0] in (0, 1)
        assert page.close_code is None
    async with YClient.connect(server.ws_url, token) as client:  # no Origin: a program
        assert str(client.text) == "ok"


async def test_configured_origins_are_accepted(make_live: Callable[..., LiveServer]) -> None:
    server = make_live(allowed_origins="https://notes.example, https://b.example").start()
    token = server.post_note()["id"]
    async with connect(
        f"{server.ws_url}/{token}", additional_headers={"Origin": "https://b.example"}
    ) as ws:
        await ws.send(b"\x03")  # query awareness: answered, so the socket is open
        assert (await ws.recv())[0] in (0, 1)


async def test_connections_beyond_the_per_address_limit_are_refused_with_4429(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_connections_per_address=2).start()
    token = server.post_note()["id"]
    async with (
        YClient.connect(server.ws_url, token),
        YClient.connect(server.ws_url, token),
        connect(f"{server.ws_url}/{token}") as third,
    ):
        await third.wait_closed()
        assert third.close_code == 4429
    for _ in range(50):  # the count goes down as the server finishes closing the two
        async with connect(f"{server.ws_url}/{token}") as again:
            await again.send(protocol.encode_query_awareness())
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(again.recv(), 1)
            if again.close_code is None:
                break
        await asyncio.sleep(0.1)
    assert again.close_code in (None, 1000)


async def test_a_message_larger_than_the_limit_is_refused_with_1009(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_message_bytes=65536).start()
    token = server.post_note()["id"]
    async with connect(f"{server.ws_url}/{token}", max_size=None) as ws:
        await ws.send(b"\x00\x02" + b"\x80" * 70_000)
        await ws.wait_closed()
        assert ws.close_code == 1009
    assert server.get_note(token).status_code == 200


async def close_frame(url: str) -> tuple[int | None, str | None]:
    """The close code and reason a server sends a new websocket, waiting for nothing else."""
    async with connect(url) as ws:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    received = ws.close_code, ws.close_reason
    return received


@pytest.mark.slow
async def test_during_a_postgres_outage_a_websocket_is_closed_with_1011_and_one_log_line(
    tmp_path: Path,
) -> None:
    # 8da4d82: a link not looked up yet dropped the socket (1006) and logged uvicorn's
    # whole traceback; a note not loaded closed with "could not be loaded" and a traceback.
    with postgres_server() as database:
        server = LiveServer(database.create_database(), room_grace_s=0.05).start()
        try:
            unseen = server.post_note("never opened")["id"]
            seen = server.post_note("opened once")["id"]
            async with YClient.connect(server.ws_url, seen):
                pass  # its link is now cached; its room closes after the grace period
            await asyncio.to_thread(server.wait_for_log, "closed note=")
            database.stop("immediate")
            for token, doing in ((unseen, "looking up its link"), (seen, "loading note=")):
                code, reason = await close_frame(f"{server.ws_url}/{token}")
                assert (code, reason) == (1011, "the database does not answer; try again shortly")
                line = await asyncio.to_thread(server.wait_for_log, f"with 1011 while {doing}")
                assert line.count("\n") == 0 and "Connection refused" in line
            # the background loops meet it too: one line each, as requests do
            await asyncio.to_thread(server.wait_for_log, "search indexing failed: the database")
            assert "Traceback" not in server.log(), server.log()[-3000:]
            database.resume()
            async with YClient.connect(server.ws_url, unseen) as ana:
                assert str(ana.text) == "never opened"  # and it serves again
        finally:
            server.stop()
