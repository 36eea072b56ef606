"""Large updates, hostile and honest, never stall another note.

An update of hundreds of thousands of structs costs seconds to check and to
apply. Each case here runs against a real server process while two peers of
another note type to each other, and asserts that their worst round trip stays
within BYSTANDER_MS, and that honest work (a large first sync after a long time
offline, a find-and-replace over 4,000 lines, a restore of a 2 MB note while
someone types in it) lands.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pycrdt
import pytest
from support.http import http
from support.othernote import other_note_typing_apart
from support.server import ServerProcess
from support.yclient import YClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from collab import protocol

# Megabytes of updates against a server process of the module's own: seconds each.
pytestmark = pytest.mark.slow

v = protocol.write_varuint
BYSTANDER_MS = 3000
"""Another note's worst round trip during any of these. The budget is 100 ms (issue
24), measured and printed by each test; budgets are not asserted in timed tests (a
machine at load average 8-20 measured 73-2,058 ms), so this bound is what fails a
change that brings back the stalls it replaced: 22-35 s for the hostile updates,
over 120 s for the restore. The honest edits' tests fail on the old code by their
sender being locked out (4429), not by the bound."""


def text(raw: bytes) -> bytes:
    return v(len(raw)) + raw


def two_back(client: int, count: int) -> bytes:
    """``count`` one-character items of one client, each inserted after the item two back.

    No two in a row are chained (each follows the one before the one before), so
    the bound on unmerged runs does not catch it; 900,000 of them fit in 8 MB.
    """
    structs = [bytes([4, 1]) + text(b"content") + text(b"a")]
    structs.append(bytes([0x84]) + v(client) + v(0) + text(b"b"))
    structs += [bytes([0x84]) + v(client) + v(clock - 2) + text(b"c") for clock in range(2, count)]
    return v(1) + v(count) + v(client) + v(0) + b"".join(structs) + v(0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("big")
    process = ServerProcess(folder / "notes.db", folder)
    yield process.start()
    process.discard()


@pytest.fixture(scope="module")
def hostile_update() -> bytes:
    update = two_back(424_242, 900_000)
    assert len(update) < 8 * 1024 * 1024
    return update


async def during(server: ServerProcess, work: Callable[[], Awaitable[None]]) -> float:
    """Run ``work`` while another note's two peers type; their worst round trip (ms)."""
    async with other_note_typing_apart(server) as other:
        await asyncio.sleep(1)  # the machine's own noise, printed beside: before the work
        started = time.monotonic()
        await work()
        await asyncio.sleep(0.1)  # and after
    timed = zip(other.sent_at, other.delays_ms, strict=True)
    quiet = [ms for at, ms in timed if at + ms / 1000 < started]
    during_work = other.delays_ms[len(quiet) :]
    worst = max(during_work)
    print(
        f"\n  the other note's round trip: worst {max(quiet, default=0):.1f} ms before the work; "
        f"during it median {statistics.median(during_work):.1f} ms, worst {worst:.1f} ms "
        f"over {len(during_work)} edits"
    )
    return worst


async def answered_or_closed(ws: ClientConnection, frames: list[bytes]) -> list[bytes]:
    """Send each frame, then a query; what came back until its answer, or until closed."""
    heard: list[bytes] = []
    with contextlib.suppress(ConnectionClosed):
        for frame in frames:
            await ws.send(frame)
            await ws.send(protocol.encode_query_awareness())
            async with asyncio.timeout(120):
                while (message := await ws.recv())[0] != protocol.MessageType.AWARENESS:
                    assert isinstance(message, bytes)
                    heard.append(message)
    return heard


@contextlib.asynccontextmanager
async def raw(server: ServerProcess, token: str) -> AsyncIterator[ClientConnection]:
    async with connect(f"{server.ws_url}/{token}", max_size=None, open_timeout=30) as ws:
        await ws.recv()  # the server's step 1: the room is loaded
        yield ws


async def test_a_viewers_huge_updates_are_refused_without_stalling_anyone(
    server: ServerProcess, hostile_update: bytes
) -> None:
    note = server.post_note("kept as it is")
    frames = [protocol.encode_sync_update(hostile_update)] * 2
    frames.append(protocol.encode_sync_step2(hostile_update))
    heard: list[bytes] = []

    async def attack() -> None:
        async with raw(server, note["view_id"]) as ws:
            heard.extend(await answered_or_closed(ws, frames))

    assert await during(server, attack) < BYSTANDER_MS
    denied = protocol.encode_permission_denied("this link is view-only: edits are not saved")
    assert heard.count(denied) == 3
    assert server.get_note(note["id"]).json()["content"] == "kept as it is"


async def test_an_editors_huge_updates_do_not_stall_anyone(
    server: ServerProcess, hostile_update: bytes
) -> None:
    note = server.post_note("x")
    frames = [protocol.encode_sync_update(hostile_update)] * 3
    closes: list[int | None] = []

    async def attack() -> None:
        async with raw(server, note["id"]) as ws:
            await answered_or_closed(ws, frames)
            closes.append(ws.close_code)

    assert await during(server, attack) < BYSTANDER_MS
    print(f"  the attacker's connection: closed with {closes[0]}")
    assert http.get(server.url + "/healthz").json() == {"status": "ok"}


async def test_huge_sync_replies_repeated_over_new_connections_do_not_stall_anyone(
    server: ServerProcess, hostile_update: bytes
) -> None:
    note = server.post_note("x")
    frames = [protocol.encode_sync_step2(hostile_update)] * 3
    closes: list[int | None] = []

    async def attack() -> None:
        for _ in range(3):
            async with raw(server, note["id"]) as ws:
                await answered_or_closed(ws, frames)
                closes.append(ws.close_code)

    assert await during(server, attack) < BYSTANDER_MS
    print(f"  the attacker's connections: closed with {closes}")
    assert http.get(server.url + "/healthz").json() == {"status": "ok"}


def lines(count: int) -> str:
    return "".join(f"line {i} holds the word alpha among other words\n" for i in range(count))


def replace_each(doc: pycrdt.Doc, old: str, new: str, *, one_edit: bool) -> None:
    """Replace every ``old`` in the doc's text: in one transaction, or one per line."""
    content = doc.get("content", type=pycrdt.Text)
    found, at = [], str(content).find(old)
    while at >= 0:
        found.append(len(str(content)[:at].encode()))
        at = str(content).find(old, at + 1)
    context = doc.transaction() if one_edit else contextlib.nullcontext()
    with context:
        for place in reversed(found):
            with doc.transaction() if not one_edit else contextlib.nullcontext():
                del content[place : place + len(old)]
                content.insert(place, new)


def adopt(client: YClient, doc: pycrdt.Doc) -> None:
    """Make ``client`` a connection of ``doc``: a client coming back with offline edits."""
    client.doc, client.text = doc, doc.get("content", type=pycrdt.Text)
    doc.observe(client._on_local_change)


async def test_a_large_first_sync_after_a_long_time_offline_lands(server: ServerProcess) -> None:
    original = lines(3_000)
    note = server.post_note(original)
    async with YClient.connect(server.ws_url, note["id"]) as before:
        offline: pycrdt.Doc = pycrdt.Doc()
        offline.apply_update(before.doc.get_update())
    replace_each(offline, "alpha", "omega", one_edit=False)  # 3,000 edits, one at a time
    expected = original.replace("alpha", "omega")

    async def come_back() -> None:
        async with connect(f"{server.ws_url}/{note['id']}", max_size=None) as ws:
            client = YClient(ws)
            adopt(client, offline)
            reader = asyncio.create_task(client._read())
            await ws.send(pycrdt.create_sync_message(client.doc))
            async with YClient.connect(server.ws_url, note["id"]) as watcher:
                await watcher.wait_text(expected, timeout_s=60)
            assert not client.closed.is_set(), client.close_code
            reader.cancel()

    assert await during(server, come_back) < BYSTANDER_MS
    assert server.get_note(note["id"]).json()["content"] == expected


async def test_a_find_and_replace_over_4000_lines_lands(server: ServerProcess) -> None:
    original = lines(4_000)
    note = server.post_note(original)
    expected = original.replace("alpha", "omega")
    async with YClient.connect(server.ws_url, note["id"]) as editor:
        state = editor.doc.get_state()
        editor._remote = True  # made now, sent below: only the sending is measured
        replace_each(editor.doc, "alpha", "omega", one_edit=True)
        editor._remote = False
        update = editor.doc.get_update(state)

        async def replace() -> None:
            await editor.ws.send(protocol.encode_sync_update(update))
            async with YClient.connect(server.ws_url, note["id"]) as watcher:
                await watcher.wait_text(expected, timeout_s=60)
            await editor.wait_saved(60)

        assert await during(server, replace) < BYSTANDER_MS
        assert not editor.closed.is_set(), editor.close_code
    assert server.get_note(note["id"]).json()["content"] == expected


async def test_a_restore_of_a_2_mb_note_while_someone_types_lands(server: ServerProcess) -> None:
    original = lines(40_000)
    original += "x" * (2_000_000 - len(original) - 1) + "\n"  # the most a note may hold
    note = server.post_note(original)
    versions = f"{server.url}/api/notes/{note['id']}/versions"
    [version] = http.get(versions).json()["versions"]
    rewritten = "".join(
        line.replace("alpha", "omega") if i % 10 == 0 else line
        for i, line in enumerate(original.splitlines(keepends=True))
    )  # a restore back from it: 4,000 lines to change, amid 36,000 that stay
    async with YClient.connect(server.ws_url, note["id"], timeout_s=30) as typist:
        with typist.doc.transaction():
            typist.text.clear()
            typist.append(rewritten)
        await typist.wait_saved(60)
        typed: list[str] = []

        async def restore() -> None:
            request = asyncio.create_task(
                asyncio.to_thread(
                    http.post, f"{versions}/{version['id']}/restore", json={}, timeout=120
                )
            )
            while not request.done():
                typed.append(f"<{len(typed)}>")
                typist.append(typed[-1])
                await asyncio.sleep(0.02)
            assert (await request).status_code == 200

        assert await during(server, restore) < BYSTANDER_MS
        await typist.wait_saved(60)
    content = server.get_note(note["id"]).json()["content"]
    assert all(marker in content for marker in typed)
    for marker in typed:
        content = content.replace(marker, "", 1)
    assert content == original


async def test_undoing_a_restore_of_a_2_mb_note_while_someone_types_lands(
    server: ServerProcess,
) -> None:
    original = lines(40_000)
    original += "x" * (2_000_000 - len(original) - 1) + "\n"
    note = server.post_note(original)
    versions = f"{server.url}/api/notes/{note['id']}/versions"
    [version] = http.get(versions).json()["versions"]
    rewritten = "".join(
        line.replace("alpha", "omega") if i % 10 == 0 else line
        for i, line in enumerate(original.splitlines(keepends=True))
    )
    async with YClient.connect(server.ws_url, note["id"], timeout_s=30) as typist:
        with typist.doc.transaction():
            typist.text.clear()
            typist.append(rewritten)
        await typist.wait_saved(60)
        restore = f"{versions}/{version['id']}/restore"
        restored = await asyncio.to_thread(http.post, restore, json={}, timeout=120)
        assert restored.status_code == 200
        await typist.wait_until(lambda c: str(c.text) == original, 60)
        typed: list[str] = []

        async def undo() -> None:
            url = f"{versions}/{restored.json()['undo']['id']}/undo"
            request = asyncio.create_task(asyncio.to_thread(http.post, url, json={}, timeout=120))
            while not request.done():
                typed.append(f"<{len(typed)}>")
                typist.append(typed[-1])
                await asyncio.sleep(0.02)
            assert (await request).status_code == 200

        assert await during(server, undo) < BYSTANDER_MS
        await typist.wait_saved(60)
    content = server.get_note(note["id"]).json()["content"]
    assert all(marker in content for marker in typed)  # typed after the restore: kept
    for marker in typed:
        content = content.replace(marker, "", 1)
    assert content == rewritten  # the restore's own change taken back, and nothing else
