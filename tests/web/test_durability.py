"""Nothing a peer has seen is lost: SIGKILL, SIGTERM, restarts and checkpoints."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
import websockets
from support.http import http
from support.server import MakeServer, ServerProcess
from support.sql import query
from support.yclient import YClient
from websockets.exceptions import ConnectionClosed

from web import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def log_rows(url: str) -> tuple[int, int]:
    """How many updates the log holds, and how many of them the latest checkpoint covers."""
    [(updates,)] = query(url, "SELECT count(*) FROM update_log")
    [(covered,)] = query(url, "SELECT max(position) FROM checkpoint")
    return updates, covered or 0


async def type_until_killed(server: ServerProcess, token: str, start: int) -> str:
    """Type numbered tokens while a watcher listens; SIGKILL the server mid-stream.

    Returns the text the watcher had received when the server died.
    """
    async with (
        YClient.connect(server.ws_url, token) as writer,
        YClient.connect(server.ws_url, token) as watcher,
    ):

        async def typing() -> None:
            n = start
            while True:
                writer.append(f"<{n}>")
                n += 1
                await asyncio.sleep(0.002)

        typist = asyncio.create_task(typing())
        await asyncio.sleep(random.uniform(0.15, 0.45))  # 50-200 edits: a stream, killed mid-way
        seen = str(watcher.text)
        server.kill()  # no shutdown code runs
        typist.cancel()
        await watcher.wait_closed()
        seen = str(watcher.text)  # everything it received before the socket died
    return seen


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_every_edit_a_watcher_received_survives_sigkill(
    make_server: MakeServer,
    durability: str,
) -> None:
    server = make_server(f"--durability={durability}").start()
    token = server.post_note()["id"]
    written = 0
    for _round in range(3):
        seen = await type_until_killed(server, token, written)
        assert seen.count("<") > 10, "the watcher should have seen a stream of edits"
        server.start()
        stored = server.get_note(token).json()["content"]
        assert stored.startswith(seen), "an edit the watcher saw is missing"
        tokens = stored.replace(">", "> ").split()
        assert len(tokens) == len(set(tokens)), "an edit was stored twice"
        assert tokens == [f"<{n}>" for n in range(len(tokens))], "edits out of order or lost"
        written = len(tokens)


async def test_sigterm_closes_peers_with_1001_and_keeps_every_edit(server: ServerProcess) -> None:
    token = server.post_note()["id"]
    async with (
        YClient.connect(server.ws_url, token) as writer,
        YClient.connect(server.ws_url, token) as watcher,
    ):
        for i in range(200):
            writer.append(f"{i},")
        await watcher.wait_until(lambda c: str(c.text).endswith("199,"))
        assert server.terminate() == 0
        assert await writer.wait_closed() == 1001
        assert await watcher.wait_closed() == 1001
    server.start()
    assert server.get_note(token).json()["content"] == "".join(f"{i}," for i in range(200))


async def test_a_note_reads_the_same_after_a_restart(server: ServerProcess) -> None:
    token = server.post_note("# Title\n")["id"]
    async with YClient.connect(server.ws_url, token) as client:
        client.append("body text")
        client.insert(0, ">")
        async with YClient.connect(server.ws_url, token) as other:
            await other.wait_text("># Title\nbody text")
    server.stop()
    server.start()
    async with YClient.connect(server.ws_url, token) as client:
        assert str(client.text) == "># Title\nbody text"


async def test_checkpoints_then_restart_give_the_same_text(
    make_server: MakeServer, database_url: str
) -> None:
    server = make_server("--checkpoint-after-updates=10", "--room-grace-s=0.2").start()
    token = server.post_note()["id"]
    async with (
        YClient.connect(server.ws_url, token) as writer,
        YClient.connect(server.ws_url, token) as watcher,
    ):
        for i in range(175):
            writer.append(f"{i % 10}")
            if i % 5 == 0:  # edits of one server loop turn are logged as one update
                await asyncio.sleep(0.01)
        await watcher.wait_until(lambda c: len(str(c.text)) == 175)
        expected = str(watcher.text)
    deadline = time.monotonic() + 10  # the last checkpoint commits just after the last edit
    while (rows := log_rows(database_url))[0] - rows[1] >= 10:
        assert time.monotonic() < deadline, f"no recent checkpoint: {rows}"
        await asyncio.sleep(0.05)
    assert rows[1] > 0  # checkpoints, and the whole log kept: the history
    server.kill()
    server.start()
    assert server.get_note(token).json()["content"] == expected


async def test_an_idle_note_gets_a_checkpoint_after_quiet_seconds(
    make_server: MakeServer, database_url: str
) -> None:
    server = make_server("--checkpoint-after-idle-s=0.3").start()
    token = server.post_note()["id"]
    async with (
        YClient.connect(server.ws_url, token) as writer,
        YClient.connect(server.ws_url, token) as watcher,
    ):
        for i in range(20):
            writer.append(str(i))
        await watcher.wait_until(lambda c: str(c.text).endswith("19"))
        for _ in range(100):
            if (rows := log_rows(database_url))[1] == rows[0] > 0:
                break
            await asyncio.sleep(0.05)
        assert rows[1] == rows[0] > 0, rows  # a checkpoint covers the whole log, which stays
        expected = str(watcher.text)
    server.kill()
    server.start()
    assert server.get_note(token).json()["content"] == expected


async def test_edits_keep_flowing_in_other_notes_when_one_client_misbehaves(
    server: ServerProcess,
) -> None:
    a, b = server.post_note()["id"], server.post_note()["id"]
    async with YClient.connect(server.ws_url, a) as a1, YClient.connect(server.ws_url, a) as a2:
        async with YClient.connect(server.ws_url, b) as bad:
            with contextlib.suppress(ConnectionClosed):  # it may close before the send ends
                await bad.ws.send(b"\x00\x01\x05\x01\x02\x03")
            assert await bad.wait_closed() == 1007
        a1.append("fine")
        await a2.wait_text("fine")


@pytest.mark.sqlite_only  # holds SQLite's write lock from another connection
def test_sigterm_with_the_database_locked_stops_in_bounded_time_refuses_newcomers_and_exits_6(
    make_server: MakeServer,
    db_path: Path,
) -> None:
    # 8da4d82 exited 0, the status the README keeps for "every pending write finished".
    server = make_server("--shutdown-timeout-s=2").start()
    token = server.post_note("locked ")["id"]

    async def scenario() -> tuple[float, int | None, int]:
        async with YClient.connect(server.ws_url, token) as typist:
            locker = sqlite3.connect(db_path, isolation_level=None, timeout=5)
            locker.execute("BEGIN IMMEDIATE")  # the writer now waits up to its busy timeout
            try:
                typist.append("typed while locked")
                await asyncio.sleep(0.3)  # the edit reaches the writer, which waits
                assert server.proc is not None
                started = time.monotonic()
                server.proc.send_signal(signal.SIGTERM)
                await typist.wait_closed(10)
                async with websockets.connect(f"{server.ws_url}/{token}") as late:
                    with contextlib.suppress(ConnectionClosed):
                        await asyncio.wait_for(late.recv(), 10)
                    code = late.close_code
                status = await asyncio.to_thread(server.proc.wait, 30)
                return time.monotonic() - started, code, status
            finally:
                locker.execute("ROLLBACK")
                locker.close()

    took, late_code, status = asyncio.run(scenario())
    print(f"\nSIGTERM, database locked: stopped in {took:.1f} s; a late client got {late_code}")
    assert took < 15, "shutdown must be bounded"
    assert late_code == 1001  # a clear refusal, not a crash (1006)
    assert status == cli.EXIT_UNSAVED, server.log()[-3000:]
    assert "stopping with unsaved edits" in server.log()
    assert "could not be saved (the disk did not answer in --shutdown-timeout-s)" in server.log()
    assert f"exit status {status}" in server.log()
    row = next(line for line in README.splitlines() if line.startswith(f"| `{status}` |"))
    assert "unsaved" in row or "could not" in row


def test_a_restore_killed_midway_leaves_the_note_restored_or_untouched(
    make_server: MakeServer,
) -> None:
    server = make_server().start()
    original = "".join(f"paragraph {i}: " + "words " * 30 + "\n\n" for i in range(200))
    note = server.post_note(original)
    base = f"{server.url}/api/notes/{note['id']}/versions"
    [version] = http.get(base).json()["versions"]
    rewritten = original.replace("words", "other").replace("paragraph 1", "chapter")

    async def rewrite() -> None:
        async with YClient.connect(server.ws_url, note["id"]) as editor:
            editor.text.clear()
            editor.append(rewritten)
            await editor.wait_saved(10)

    asyncio.run(rewrite())
    outcomes = []
    for delay in (0.0, 0.02, 0.1, 0.2, 0.4, 0.8):
        assert server.proc is not None

        def restore() -> None:
            with contextlib.suppress(httpx.TransportError):
                http.post(f"{base}/{version['id']}/restore", timeout=10)

        request = threading.Thread(target=restore)
        request.start()
        time.sleep(delay)
        server.kill()  # SIGKILL at some point of the restore
        request.join()
        server.start()
        content = server.get_note(note["id"]).json()["content"]
        assert content in (original, rewritten), "a half-restored note"
        outcomes.append("restored" if content == original else "untouched")
        if content == original:  # put it back for the next try
            asyncio.run(rewrite())
    print(f"\nrestores killed after 0-800 ms: {outcomes}")
