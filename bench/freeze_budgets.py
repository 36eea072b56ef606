"""Another note's worst delay while one note takes a large update (issue 24's budget: 100 ms).

    .venv/bin/python bench/freeze_budgets.py                 # the full run, writes bench/FREEZE.md
    .venv/bin/python bench/freeze_budgets.py --items 20000 --lines 200 --note-chars 100000 \\
        --offline-edits 100 --out tiny.md                    # a quick look

One ``collab-notes serve --durability full`` process on a new SQLite file, on
127.0.0.1, with ``--checkpoint-after-idle-s 1`` so that the checkpoint each case
sets off (the encode of the whole note) falls inside its window. A probe in a
process of its own (so that this process's own clients, which apply the large
updates too, cannot delay it) keeps two clients of another note typing to each
other: one inserts a marker, the other waits until it holds it, 20 ms apart;
each round trip is one sample. The cases, one after another, each on a note of
its own:

- ``view link``: an update of ``--items`` one-character items, each inserted two
  items back (no run limit catches it; 900,000 fit just under the 8 MB frame
  limit), sent twice as an update and once as a sync reply through a view link;
- ``edit link``: the same three frames through an edit link;
- ``first sync``: a client that made ``--offline-edits`` edits one at a time
  offline (a word replaced on each line) comes back and syncs them;
- ``find and replace``: one update replacing a word on each of ``--lines`` lines;
- ``restore``: a restore of a ``--note-chars`` note whose every tenth line was
  rewritten, while its typist types a marker every 20 ms.

A case's window runs from the start of its work until ``--tail-s`` after it
ended (the idle checkpoint). The report gives, per case, the probe's round trips
in the window (p50 and max) beside the budget, the round trips before any case
(the machine's own noise), and the load average around each case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pycrdt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import environment  # noqa: E402
from history.server import Server  # noqa: E402

BUDGET_MS = 100.0
WAIT_S = 120.0
v = pycrdt.write_var_uint


@dataclass
class Case:
    """One case's window (``time.monotonic()``, the same clock in every process)."""

    name: str
    started: float = 0.0
    ended: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    outcome: str = ""  # what the case's own client saw
    delays_ms: list[float] = field(default_factory=list)


# -- the probe, in a process of its own ---------------------------------------------------


class Client:
    """A y-websocket client of one note: its document follows the server's."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.doc: pycrdt.Doc = pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.changed = asyncio.Event()
        self._remote = False
        self.doc.observe(self._local)

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[Client]:
        async with connect(url, max_size=None, open_timeout=30) as ws:
            client = cls(ws)
            reader = asyncio.create_task(client.read())
            await ws.send(pycrdt.create_sync_message(client.doc))
            try:
                yield client
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                if isinstance(message, bytes) and message[:1] == b"\x00":
                    self._remote = True
                    try:
                        reply = pycrdt.handle_sync_message(message[1:], self.doc)
                    finally:
                        self._remote = False
                    self.changed.set()
                    if reply is not None:
                        await self.ws.send(reply)

    async def wait_for(self, marker: str, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while marker not in str(self.text):
                self.changed.clear()
                await self.changed.wait()

    async def holds(self, expected: str, timeout_s: float) -> bool:
        """Whether the text becomes ``expected`` within ``timeout_s``.

        A large edit lands in pieces, not in the order of the text: part of it
        showing says nothing of the rest.
        """
        try:
            async with asyncio.timeout(timeout_s):
                while str(self.text) != expected:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            return False
        return True

    def _local(self, event: pycrdt.TransactionEvent) -> None:
        if not self._remote:
            message = pycrdt.create_update_message(event.update)
            asyncio.get_running_loop().create_task(self.ws.send(message))


async def probe(url: str) -> None:
    """Type into another note until told to stop; print (sent_at, round trip ms) pairs."""
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    async with Client.connect(url) as writer, Client.connect(url) as watcher:

        async def type_on() -> None:
            n = 0
            while not stop.is_set():
                marker, sent_at, started = f"<{n}>", time.monotonic(), time.perf_counter()
                writer.text.insert(len(writer.text), marker)
                await watcher.wait_for(marker, WAIT_S)
                samples.append((sent_at, (time.perf_counter() - started) * 1000))
                n += 1
                await asyncio.sleep(0.02)

        typing = asyncio.create_task(type_on())
        print("typing", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        stop.set()
        await typing
    print(json.dumps(samples), flush=True)


# -- the cases -----------------------------------------------------------------------------


def two_back(client: int, count: int) -> bytes:
    """``count`` one-character items of one client, each inserted after the item two back."""
    structs = [bytes([4, 1]) + v(7) + b"content" + v(1) + b"a"]
    structs.append(bytes([0x84]) + v(client) + v(0) + v(1) + b"b")
    structs += [bytes([0x84]) + v(client) + v(clock - 2) + v(1) + b"c" for clock in range(2, count)]
    return v(1) + v(count) + v(client) + v(0) + b"".join(structs) + v(0)


def lines(count: int) -> str:
    return "".join(f"line {i} holds the word alpha among other words\n" for i in range(count))


def sync_frame(kind: int, update: bytes) -> bytes:
    """A sync step 2 (``kind`` 1) or update (2) frame."""
    return bytes([0, kind]) + v(len(update)) + update


async def send_and_wait(ws: ClientConnection, frames: list[bytes]) -> str:
    """Send each frame and a query of presence; wait for the answer or the close."""
    try:
        for frame in frames:
            await ws.send(frame)
            await ws.send(bytes([3]))  # query awareness: answered once the frame is handled
            async with asyncio.timeout(WAIT_S):
                while (await ws.recv())[0] != 1:
                    pass
    except ConnectionClosed:
        return f"closed with {ws.close_code}"
    return "stayed connected"


class Cases:
    """Each case's work against one server."""

    def __init__(self, server: Server, http: httpx.AsyncClient, args: argparse.Namespace):
        self.server, self.http, self.args = server, http, args
        self._hostile: bytes | None = None

    @property
    def hostile(self) -> bytes:
        if self._hostile is None:
            self._hostile = two_back(424_242, self.args.items)
        return self._hostile

    async def note(self, content: str) -> dict[str, str]:
        response = await self.http.post("/api/notes", json={"content": content}, timeout=WAIT_S)
        response.raise_for_status()
        note: dict[str, str] = response.json()
        return note

    async def content(self, token: str) -> str:
        response = await self.http.get(f"/api/notes/{token}", timeout=WAIT_S)
        text: str = response.json()["content"]
        return text

    async def prepare(self, name: str) -> Callable[[], Awaitable[str]]:
        """The case's setup (untimed); returns its work."""
        prepare: dict[str, Callable[[], Awaitable[Callable[[], Awaitable[str]]]]] = {
            "view link": self.through_view_link,
            "edit link": self.through_edit_link,
            "first sync": self.first_sync,
            "find and replace": self.find_and_replace,
            "restore": self.restore,
        }
        return await prepare[name]()

    async def through_view_link(self) -> Callable[[], Awaitable[str]]:
        note = await self.note("kept as it is")
        frames = [sync_frame(2, self.hostile)] * 2 + [sync_frame(1, self.hostile)]

        async def work() -> str:
            async with connect(f"{self.server.ws_url}/{note['view_id']}", max_size=None) as ws:
                outcome = await send_and_wait(ws, frames)
            kept = await self.content(note["id"]) == "kept as it is"
            return f"{outcome}; the note {'unchanged' if kept else 'CHANGED'}"

        return work

    async def through_edit_link(self) -> Callable[[], Awaitable[str]]:
        note = await self.note("x")
        frames = [sync_frame(2, self.hostile)] * 3

        async def work() -> str:
            async with connect(f"{self.server.ws_url}/{note['id']}", max_size=None) as ws:
                return await send_and_wait(ws, frames)

        return work

    async def first_sync(self) -> Callable[[], Awaitable[str]]:
        original = lines(self.args.offline_edits)
        note = await self.note(original)
        url = f"{self.server.ws_url}/{note['id']}"
        async with Client.connect(url) as before:
            await before.wait_for(original[-20:], WAIT_S)
            state = before.doc.get_update()
        offline: pycrdt.Doc = pycrdt.Doc()
        offline.apply_update(state)
        text = offline.get("content", type=pycrdt.Text)
        for at in reversed(find_all(str(text), "alpha")):  # one edit at a time
            with offline.transaction():
                del text[at : at + 5]
                text.insert(at, "omega")
        expected = original.replace("alpha", "omega")
        update = offline.get_update()

        async def work() -> str:
            async with connect(url, max_size=None) as ws:
                await ws.send(sync_frame(1, update))  # all it holds, as its answer to our step 1
                async with Client.connect(url) as watcher:
                    landed = await watcher.holds(expected, WAIT_S)
                outcome = await send_and_wait(ws, [bytes([3])])
            return f"{'landed' if landed else 'DID NOT LAND'}; sender {outcome}"

        return work

    async def find_and_replace(self) -> Callable[[], Awaitable[str]]:
        original = lines(self.args.lines)
        note = await self.note(original)
        url = f"{self.server.ws_url}/{note['id']}"
        copy: pycrdt.Doc = pycrdt.Doc()
        async with Client.connect(url) as editor:
            await editor.wait_for(original[-20:], WAIT_S)
            copy.apply_update(editor.doc.get_update())
        state, text = copy.get_state(), copy.get("content", type=pycrdt.Text)
        with copy.transaction():  # one edit
            for at in reversed(find_all(str(text), "alpha")):
                del text[at : at + 5]
                text.insert(at, "omega")
        update, expected = copy.get_update(state), original.replace("alpha", "omega")

        async def work() -> str:
            async with connect(url, max_size=None) as ws:
                await ws.send(sync_frame(2, update))
                async with Client.connect(url) as watcher:
                    landed = await watcher.holds(expected, WAIT_S)
                outcome = await send_and_wait(ws, [bytes([3])])
            return f"{'landed' if landed else 'DID NOT LAND'}; sender {outcome}"

        return work

    async def restore(self) -> Callable[[], Awaitable[str]]:
        original = lines(self.args.note_chars // 50)
        original += "x" * max(0, self.args.note_chars - len(original) - 1) + "\n"
        note = await self.note(original)
        versions = f"/api/notes/{note['id']}/versions"
        [version] = (await self.http.get(versions, timeout=WAIT_S)).json()["versions"]
        rewritten = "".join(
            line.replace("alpha", "omega") if i % 10 == 0 else line
            for i, line in enumerate(original.splitlines(keepends=True))
        )
        url = f"{self.server.ws_url}/{note['id']}"
        ready, go, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def type_meanwhile() -> None:
            async with Client.connect(url) as typist:
                await typist.wait_for(original[-20:], WAIT_S)
                with typist.doc.transaction():
                    typist.text.clear()
                    typist.text.insert(0, rewritten)
                ready.set()
                await go.wait()
                n = 0
                while not stop.is_set():
                    typist.text.insert(len(typist.text), f"<{n}>")
                    n += 1
                    await asyncio.sleep(0.02)

        typing = asyncio.create_task(type_meanwhile())
        await ready.wait()
        async with Client.connect(url) as watcher:  # the rewrite is in
            await watcher.wait_for(rewritten[-40:], WAIT_S)

        async def work() -> str:
            go.set()
            try:
                restore = f"{versions}/{version['id']}/restore"
                answer = await self.http.post(restore, json={}, timeout=WAIT_S)
            finally:
                stop.set()
                await typing
            return f"restore answered {answer.status_code}"

        return work


def find_all(text: str, word: str) -> list[int]:
    """Where ``word`` starts in ``text``, in UTF-8 bytes (pycrdt's text indices; ASCII here)."""
    found, at = [], text.find(word)
    while at >= 0:
        found.append(at)
        at = text.find(word, at + 1)
    return found


# -- running and reporting -----------------------------------------------------------------

CASES = ("view link", "edit link", "first sync", "find and replace", "restore")


async def run_cases(server: Server, args: argparse.Namespace) -> tuple[list[Case], list[float]]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        cases = Cases(server, http, args)
        token = (await cases.note("probe\n"))["id"]
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--probe", f"{server.ws_url}/{token}",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 60) == b"typing\n"
        quiet_from = time.monotonic()
        await asyncio.sleep(args.quiet_s)
        quiet_until = time.monotonic()
        done: list[Case] = []
        for name in args.cases:
            case, setup_from = Case(name), time.monotonic()
            work = await cases.prepare(name)
            await asyncio.sleep(args.tail_s)  # the setup's own checkpoint, outside the window
            case.load_before, case.started = os.getloadavg()[0], time.monotonic()
            case.outcome = await work()
            await asyncio.sleep(args.tail_s)
            case.ended, case.load_after = time.monotonic(), os.getloadavg()[0]
            setup_s, work_s = case.started - setup_from, case.ended - case.started
            print(
                f"{name}: {case.outcome} (set up in {setup_s:.1f} s, window {work_s:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
            done.append(case)
        child.stdin.write(b"stop\n")
        await child.stdin.drain()
        out, _ = await asyncio.wait_for(child.communicate(), WAIT_S)
    samples: list[tuple[float, float]] = json.loads(out)
    for case in done:
        case.delays_ms = [ms for at, ms in samples if case.started <= at <= case.ended]
    quiet = [ms for at, ms in samples if quiet_from <= at <= quiet_until]
    return done, quiet


def render(results: dict[str, object], cases: list[Case], quiet: list[float]) -> str:
    def figures(delays: list[float]) -> str:
        if not delays:
            return "0 | - | -"
        return f"{len(delays)} | {statistics.median(delays):.1f} | {max(delays):.1f}"

    rows = [
        "| case | probe round trips | p50 ms | max ms | budget ms | within | load before/after "
        "| what the case's client saw |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
        f"| (before any case) | {figures(quiet)} | {BUDGET_MS:.0f} | "
        f"{'yes' if quiet and max(quiet) < BUDGET_MS else 'no'} | | |",
    ]
    for case in cases:
        within = "yes" if case.delays_ms and max(case.delays_ms) < BUDGET_MS else "no"
        rows.append(
            f"| {case.name} | {figures(case.delays_ms)} | {BUDGET_MS:.0f} | {within} | "
            f"{case.load_before:.1f} / {case.load_after:.1f} | {case.outcome} |"
        )
    head = [
        "# Another note's delay under large updates (issue 24: under 100 ms)",
        "",
        f"Run {results['date']} at commit {results['commit']} on {results['machine']}; "
        f"Load average (1 min) at the start {results['load_start']}, at the end "
        f"{results['load_end']}. Sizes: {results['sizes']}. Made by `bench/freeze_budgets.py` "
        "(its docstring says what each case does and what is timed).",
        "",
    ]
    return "\n".join(head + rows) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=900_000, help="items in a hostile update")
    parser.add_argument("--lines", type=int, default=4_000, help="lines a find-and-replace edits")
    parser.add_argument("--note-chars", type=int, default=2_000_000, help="the restored note")
    parser.add_argument("--offline-edits", type=int, default=3_000, help="edits made offline")
    parser.add_argument("--tail-s", type=float, default=3.0, help="window after each case")
    parser.add_argument("--quiet-s", type=float, default=3.0, help="probed before any case")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--out", type=Path, default=BENCH / "FREEZE.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # the probe process's own mode
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.probe:
        asyncio.run(probe(args.probe))
        return 0
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="freeze-bench-") as scratch:
        folder = Path(scratch)
        database = f"sqlite:///{folder / 'notes.db'}"
        options = ("--log-level", "warning", "--checkpoint-after-idle-s", "1")
        with Server(database, folder / "server.log", *options) as server:
            cases, quiet = asyncio.run(run_cases(server, args))
    sizes = (
        f"{args.items:,} items, {args.lines:,} lines, a {args.note_chars:,}-character note, "
        f"{args.offline_edits:,} offline edits"
    )
    results: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": environment.collab_notes()["commit"],  # the server code's
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_start": f"{load_start:.1f}",
        "load_end": f"{os.getloadavg()[0]:.1f}",
        "sizes": sizes,
        "budget_ms": BUDGET_MS,
        "quiet_ms": quiet,
        "cases": [case.__dict__ for case in cases],
    }
    report = render(results, cases, quiet)
    print(report)
    args.out.write_text(report)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
