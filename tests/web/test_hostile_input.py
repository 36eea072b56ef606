"""Every measured class of hostile frame, against a live server.

Each one must close only the connection that sent it, with a named code; the
process stays up, /healthz answers, peers of another note keep exchanging edits
(their delay is measured and printed), and the attacked note's stored content
is intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import Iterator

import pytest
from support.http import http
from support.live import LiveServer
from support.othernote import other_note_typing
from support.server import MakeServer, ServerProcess
from support.yclient import YClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from collab import protocol
from collab.document import EMPTY_UPDATE

# A module-scoped server and floods of frames: seconds, out of the inner loop.
pytestmark = pytest.mark.slow

varuint = protocol.write_varuint


def root_item(content: bytes, info: int) -> bytes:
    """An update of one item in the root type ``content``, from client 1 at clock 0."""
    header = bytes([1, 1, 1, 0, info, 1]) + varuint(7) + b"content"
    return header + content + b"\x00"


def nested_any_arrays(depth: int) -> bytes:
    return root_item(b"\x01" + b"\x75\x01" * depth + b"\x7e", info=8)


def nested_any_objects(depth: int) -> bytes:
    return root_item(b"\x01" + b"\x76\x01\x01k" * depth + b"\x7e", info=8)


def nested_map_types(count: int) -> list[bytes]:
    """One update per level: a map inside the map inside the map..."""
    updates = [bytes([1, 1, 1, 0, 0x27, 1, 1]) + b"m" + b"\x01k\x01\x00"]
    for clock in range(1, count):
        parent = b"\x00\x01" + varuint(clock - 1) + b"\x01k"
        updates.append(bytes([1, 1, 1]) + varuint(clock) + b"\x27" + parent + b"\x01\x00")
    return updates


def awareness_frame(client_id: int, clock: int, state: str) -> bytes:
    raw = state.encode()
    payload = b"\x01" + varuint(client_id) + varuint(clock) + varuint(len(raw)) + raw
    return protocol.encode_awareness(payload)


ATTACKS: dict[str, tuple[bytes | str, set[int]]] = {
    "60 KB of nested Any arrays": (protocol.encode_sync_update(nested_any_arrays(30_000)), {1007}),
    "nested Any objects": (protocol.encode_sync_update(nested_any_objects(20_000)), {1007}),
    "a state vector claiming 2^29-1 clients": (
        protocol.encode_sync_step1(varuint(2**29 - 1) + b"\x01\x01"),
        {1007},
    ),
    "an update claiming 2^28 clients": (
        protocol.encode_sync_update(varuint(2**28) + b"\x01\x01\x00\x04\x00\x00"),
        {1007},
    ),
    "an awareness message with a 300 KB varuint": (b"\x01" + b"\xff" * 300_000 + b"\x01", {1007}),
    "a non-JSON awareness state": (awareness_frame(7, 1, "{not json"), {1007}),
    "an awareness client id of 2^64": (awareness_frame(2**64, 1, "{}"), {1007}),
    "a text frame": ("hello", {1003}),
    "an empty frame": (b"", {1007}),
    "an unknown message type": (b"\x09\x00", {1007}),
    "a truncated frame": (protocol.encode_sync_update(b"\x01\x01\x01\x00\x04")[:-2], {1007}),
    "a 20 MB frame": (b"\x00\x02" + b"\x00" * 20_000_000, {1009}),
}


async def send_and_get_close(url: str, frame: bytes | str, wait_s: float = 10) -> int | None:
    """Send one frame; the close code the server answers with, or None if it answers a
    query sent after the frame instead (the frame happened to be valid: a room handles a
    peer's frames in order, so the answer means the frame was taken)."""
    async with connect(url, max_size=None, open_timeout=10) as ws:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)
            await ws.send(protocol.encode_query_awareness())
            async with asyncio.timeout(wait_s):  # neither answered nor closed: a failure
                while (await ws.recv())[0] != protocol.MessageType.AWARENESS:
                    pass
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ws.wait_closed(), wait_s)
        return ws.close_code


def assert_alive(server: ServerProcess | LiveServer, token: str, content: str) -> None:
    if isinstance(server, ServerProcess):
        assert server.proc is not None and server.proc.poll() is None, server.log()[-2000:]
    assert http.get(server.url + "/healthz").json() == {"status": "ok"}
    assert server.get_note(token).json()["content"] == content


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server process for every hostile frame: each attacks a note of its own, and a
    crash must show as a dead process, not take the test run down with it."""
    folder = tmp_path_factory.mktemp("hostile")
    server = ServerProcess(folder / "notes.db", folder, "--max-message-bytes=8388608")
    yield server.start()
    server.discard()


@pytest.fixture
def server(live: LiveServer) -> LiveServer:
    """For the tests below that need no process of their own: an in-process server."""
    return live


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_hostile_frame_closes_only_its_connection(
    hostile_server: ServerProcess, attack: str
) -> None:
    server = hostile_server
    frame, codes = ATTACKS[attack]
    token = server.post_note("precious words")["id"]
    async with YClient.connect(server.ws_url, token) as bystander:
        assert await send_and_get_close(f"{server.ws_url}/{token}", frame) in codes
        bystander.append("!")
        async with YClient.connect(server.ws_url, token) as checker:
            await checker.wait_text("precious words!")
    assert_alive(server, token, "precious words!")


async def test_shared_types_nested_past_the_limit_are_refused(server: LiveServer) -> None:
    token = server.post_note("kept")["id"]
    async with connect(f"{server.ws_url}/{token}") as ws:
        with contextlib.suppress(ConnectionClosed):
            for update in nested_map_types(200):
                await ws.send(protocol.encode_sync_update(update))
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 1007
    assert_alive(server, token, "kept")


async def test_someone_elses_presence_cannot_be_overwritten(server: LiveServer) -> None:
    token = server.post_note()["id"]
    async with (
        YClient.connect(server.ws_url, token) as ana,
        YClient.connect(server.ws_url, token) as eve,
        YClient.connect(server.ws_url, token) as ben,
    ):
        await ana.set_presence({"user": {"name": "Ana"}})
        await ben.wait_until(lambda c: ana.client_id in c.states)
        await eve.ws.send(awareness_frame(ana.client_id, 999, '{"user":{"name":"Eve"}}'))
        await eve.set_presence({"user": {"name": "Eve"}})
        await ben.wait_until(lambda c: eve.client_id in c.states)
        assert ben.states[ana.client_id] == {"user": {"name": "Ana"}}


async def test_a_flood_of_small_frames_is_closed_with_4429(server: LiveServer) -> None:
    token = server.post_note()["id"]
    async with connect(f"{server.ws_url}/{token}") as ws:
        with contextlib.suppress(ConnectionClosed):
            for _ in range(20_000):
                await ws.send(protocol.encode_sync_update(EMPTY_UPDATE))  # needs no answer
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 4429


async def test_a_flood_that_asks_for_answers_it_never_reads_is_closed(
    server: LiveServer,
) -> None:
    token = server.post_note()["id"]
    async with connect(f"{server.ws_url}/{token}", max_queue=1, close_timeout=0.5) as ws:
        with contextlib.suppress(ConnectionClosed):
            for _ in range(20_000):
                await ws.send(protocol.encode_query_awareness())
        # Its answers pile up (1013) or its rate trips first (4429). It reads nothing, so it
        # would not notice the close for a while: the server's side is what counts.
        started = time.monotonic()
        closing = await asyncio.to_thread(server.wait_for_log, "with 1013", "with 4429")
        await asyncio.to_thread(server.wait_for_log, "leave note=")
        print(f"\nnon-reading flooder closed after {time.monotonic() - started:.2f} s: {closing}")


def mutations(seed: int, count: int) -> list[bytes]:
    """Real updates with random bit flips, truncations and insertions."""
    import pycrdt

    rng = random.Random(seed)
    doc: pycrdt.Doc = pycrdt.Doc()
    text, items = doc.get("content", type=pycrdt.Text), doc.get("m", type=pycrdt.Map)
    updates = []
    for i in range(count):
        before = doc.get_state()
        if i % 3:
            text.insert(rng.randint(0, len(text)), rng.choice(["a", "é", "日本", "xyz"]))
        else:
            items[f"k{i}"] = [i, {"n": [1, 2, None]}, "s"]
        update = bytearray(doc.get_update(before))
        match i % 3:
            case 0:
                update[rng.randrange(len(update))] ^= 1 << rng.randrange(8)
            case 1:
                del update[rng.randrange(len(update)) :]
            case 2:
                update.insert(rng.randrange(len(update)), rng.randrange(256))
        updates.append(bytes(update))
    return updates


async def test_garbage_from_many_connections_leaves_other_notes_unharmed(
    make_server: MakeServer,
) -> None:
    server = make_server("--max-message-bytes=8388608").start()  # its own: it restarts it
    token = server.post_note("the attacked note")["id"]
    rng = random.Random(1)
    frames: list[bytes | str] = [
        frame
        for frame, _ in ATTACKS.values()
        if not (isinstance(frame, bytes) and len(frame) > 1_000_000)
    ]
    frames += [
        protocol.encode_sync_update(bytes(rng.randrange(256) for _ in range(200)))
        for _ in range(200)
    ]
    frames += [protocol.encode_sync_update(update) for update in mutations(seed=2, count=300)]
    codes: list[int | None] = []
    async with other_note_typing(server) as other:
        baseline = len(other.delays_ms)
        for start in range(0, len(frames), 25):  # 25 attackers at a time
            batch = frames[start : start + 25]
            codes += await asyncio.gather(
                *(
                    send_and_get_close(f"{server.ws_url}/{token}", frame, wait_s=2)
                    for frame in batch
                )
            )
        typed_during_attack = len(other.delays_ms) - baseline
    delays = other.delays_ms
    print(
        f"\nanother note's edit delay during {len(frames)} hostile connections: "
        f"median {statistics.median(delays):.1f} ms, max {max(delays):.1f} ms, "
        f"{typed_during_attack} edits"
    )
    assert typed_during_attack > 5, "the other note's peers should have kept editing"
    assert set(codes) <= {1003, 1007, 4429, None}, codes
    assert server.proc is not None and server.proc.poll() is None
    assert http.get(server.url + "/healthz").json() == {"status": "ok"}
    # A mutated update that still parses is valid Yjs from another client and may add
    # text; what was there must stay, and what is stored must load after a restart.
    before = server.get_note(token).json()["content"]
    assert is_subsequence("the attacked note", before)
    server.kill()
    server.start()
    assert server.get_note(token).json()["content"] == before


def is_subsequence(needle: str, haystack: str) -> bool:
    rest = iter(haystack)
    return all(char in rest for char in needle)
