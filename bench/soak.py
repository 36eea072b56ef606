"""A soak: does the server's memory level off while people come, type and drop for minutes?

    .venv/bin/python bench/soak.py                      # 5 minutes, 20 clients, 10 notes
    .venv/bin/python bench/soak.py --minutes 1 --clients 4 --notes 2

Issue 24 saw RSS grow by 1.75 MB a minute over a 5-minute soak of this shape and
asked whether it levels off. One ``collab-notes serve --durability full`` process
on a new SQLite file in a temporary folder, on 127.0.0.1 only; ``--clients``
pycrdt clients in this process speaking y-websocket, client ``i`` in note
``i % --notes``. Each types one character every ``--interval-ms`` (jittered), sets
its presence on connecting, and after a random stay (exponential, mean
``--stay-s``) leaves: half the time by dropping its TCP connection with no close
frame (a lost network), else with a close; it comes back after up to a second,
with the same document (as y-websocket reconnects), or one time in five as a new
tab (a new document and client id, synced from the server).

Every ``--sample-s`` it prints the server's RSS (``/proc/PID/status``) and the
edits typed so far; at the end, the growth over each half of the run in MB a
minute. Everything is bounded: the run's length, the clients and notes, and each
wait (10 s). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pycrdt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from collab import awareness

WAIT_S = 10.0
ROOMS_CLOSED_AFTER_S = 15.0  # the default --room-grace-s of 10 s, and a margin


@dataclass
class Totals:
    """What the clients did, for the report."""

    edits: int = 0
    drops: int = 0
    closes: int = 0
    failed_connects: int = 0
    characters: int = 0  # typed into the notes, as the server holds them at the end
    after_close_kb: int = 0  # RSS once every room has closed
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (s, RSS KB, edits)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "web.cli", "serve", "--port", str(port)]
    command += ["--host", "127.0.0.1", "--database-url", f"sqlite:///{folder / 'soak.db'}"]
    command += ["--durability", "full", "--log-level", "warning"]
    command += ["--max-connections-per-address", "0", "--max-messages-per-s", "0"]
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - the process holds it open
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    raise RuntimeError((folder / "server.log").read_text()[-3000:])


class SoakClient:
    """One person: a document kept across reconnects, typing while connected."""

    def __init__(self, index: int, ws_url: str, token: str, args: argparse.Namespace) -> None:
        self.index = index
        self.url = f"{ws_url}/{token}"
        self.args = args
        self.rng = random.Random(index)
        self.doc = pycrdt.Doc()
        self.ws: ClientConnection | None = None
        self.remote = False
        self.clock = 0

    def new_tab(self) -> None:
        self.doc = pycrdt.Doc()

    async def run(self, until: float, totals: Totals) -> None:
        while time.monotonic() < until:
            if self.rng.random() < 0.2:
                self.new_tab()
            try:
                await self.visit(until, totals)
            except (OSError, InvalidHandshake, TimeoutError):
                totals.failed_connects += 1
            await asyncio.sleep(self.rng.random())

    async def visit(self, until: float, totals: Totals) -> None:
        stay = min(self.rng.expovariate(1 / self.args.stay_s), until - time.monotonic())
        async with connect(self.url, max_size=None, open_timeout=WAIT_S) as ws:
            self.ws = ws
            text = self.doc.get("content", type=pycrdt.Text)
            subscription = self.doc.observe(self.on_change)
            reader = asyncio.create_task(self.read(ws))
            try:
                await ws.send(pycrdt.create_sync_message(self.doc))
                await self.presence(ws)
                await self.type(text, time.monotonic() + max(0.0, stay), totals)
                if self.rng.random() < 0.5:
                    totals.drops += 1
                    ws.transport.abort()  # the network went away: no close frame
                else:
                    totals.closes += 1
                    await asyncio.wait_for(ws.close(), WAIT_S)
            finally:
                self.doc.unobserve(subscription)
                reader.cancel()
                with suppress(asyncio.CancelledError):
                    await reader

    async def type(self, text: pycrdt.Text, until: float, totals: Totals) -> None:
        interval_s = self.args.interval_ms / 1000
        while time.monotonic() < until:
            await asyncio.sleep(interval_s * (0.5 + self.rng.random()))
            text.insert(len(text), chr(ord("a") + self.rng.randrange(26)))
            totals.edits += 1

    async def presence(self, ws: ClientConnection) -> None:
        self.clock += 1
        state = json.dumps({"user": {"name": f"soak {self.index}", "color": "#123456"}})
        payload = awareness.encode([awareness.Entry(self.doc.client_id, self.clock, state)])
        await ws.send(bytes([1]) + pycrdt.write_var_uint(len(payload)) + payload)

    def on_change(self, event: pycrdt.TransactionEvent) -> None:
        if not self.remote and self.ws is not None:
            message = pycrdt.create_update_message(event.update)
            asyncio.get_running_loop().create_task(self.send(self.ws, message))

    async def send(self, ws: ClientConnection, message: bytes) -> None:
        with suppress(ConnectionClosed):
            await ws.send(message)

    async def read(self, ws: ClientConnection) -> None:
        with suppress(ConnectionClosed):
            async for message in ws:
                if isinstance(message, bytes) and message[:1] == b"\x00":
                    self.remote = True
                    try:
                        reply = pycrdt.handle_sync_message(message[1:], self.doc)
                    finally:
                        self.remote = False
                    if reply is not None:
                        await ws.send(reply)


async def sample(pid: int, started: float, until: float, every_s: float, totals: Totals) -> None:
    while True:
        now = time.monotonic()
        totals.samples.append((now - started, rss_kb(pid), totals.edits))
        at, kb, edits = totals.samples[-1]
        print(f"{at:7.0f} s  RSS {kb / 1024:8.1f} MB  edits {edits:7d}", flush=True)
        if now >= until:
            return
        await asyncio.sleep(min(every_s, max(0.0, until - now)))


async def soak(args: argparse.Namespace, port: int, pid: int) -> Totals:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:
        tokens = [
            (await http.post("/api/notes", json={"content": f"soak note {n}\n"})).json()["id"]
            for n in range(args.notes)
        ]
    totals = Totals()
    started = time.monotonic()
    until = started + args.minutes * 60
    clients = [
        SoakClient(i, f"ws://127.0.0.1:{port}/ws", tokens[i % args.notes], args)
        for i in range(args.clients)
    ]
    sampler = asyncio.create_task(sample(pid, started, until, args.sample_s, totals))
    await asyncio.gather(*(client.run(until, totals) for client in clients))
    await sampler
    async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:
        for token in tokens:
            totals.characters += len((await http.get(f"/api/notes/{token}")).json()["content"])
    totals.characters -= sum(len(f"soak note {n}\n") for n in range(args.notes))
    # Everyone has left: the rooms close after --room-grace-s (10 s) and free their documents.
    await asyncio.sleep(ROOMS_CLOSED_AFTER_S)
    totals.after_close_kb = rss_kb(pid)
    return totals


def report(totals: Totals) -> None:
    samples = totals.samples
    print(
        f"edits {totals.edits}, drops {totals.drops}, closes {totals.closes}, "
        f"failed connects {totals.failed_connects}"
    )
    if len(samples) < 3:
        return
    (_, first_kb, _), (_, last_kb, _) = samples[0], samples[-1]
    per_char = (last_kb - first_kb) * 1024 / max(1, totals.characters)
    print(
        f"the notes gained {totals.characters} characters: RSS grew {per_char:.0f} bytes a "
        f"character; {totals.after_close_kb / 1024:.1f} MB once every room had closed"
    )
    middle = samples[len(samples) // 2]
    for name, (t0, kb0, _), (t1, kb1, _) in (
        ("first half", samples[0], middle),
        ("second half", middle, samples[-1]),
    ):
        rate = (kb1 - kb0) / 1024 / max(1e-9, (t1 - t0) / 60)
        print(f"{name}: RSS {kb0 / 1024:.1f} -> {kb1 / 1024:.1f} MB, {rate:+.2f} MB a minute")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--notes", type=int, default=10)
    parser.add_argument("--interval-ms", type=float, default=200.0, help="between keystrokes")
    parser.add_argument("--stay-s", type=float, default=20.0, help="mean time connected")
    parser.add_argument("--sample-s", type=float, default=10.0)
    args = parser.parse_args()
    if not (0 < args.minutes <= 60 and 0 < args.clients <= 200 and 0 < args.notes <= 200):
        parser.error("keep it bounded: at most 60 minutes, 200 clients, 200 notes")
    with tempfile.TemporaryDirectory(prefix="collab-notes-soak-") as folder:
        port = free_port()
        server = start_server(Path(folder), port)
        try:
            totals = asyncio.run(soak(args, port, server.pid))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        report(totals)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
