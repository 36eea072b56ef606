"""Changes of a note's row (delete, undelete, rotate) racing the writer and each other.

The writer advances a note's head (and its open session's figures) in the
note's row on every commit; the REST side changes the same row's links and
deletion mark. Each must touch only its own columns, in the transaction that
commits it, or one writes a stale copy over the other's work.
"""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field

import httpx
from support.http import http
from support.server import MakeServer, ServerProcess
from support.sql import query
from support.yclient import YClient
from websockets.exceptions import ConnectionClosed

from collab import protocol

ROUNDS = 8
TYPISTS = 5


@dataclass
class Typist:
    """A stock-protocol client typing tokens, with a save marker after each keystroke."""

    number: int
    client: YClient
    sent: list[str] = field(default_factory=list)

    def acknowledged(self) -> list[str]:
        """The tokens whose save marker (or a later one) the server acknowledged."""
        acked = [
            marker
            for marker in range(1, len(self.sent) + 1)
            if protocol.encode_save_ack(marker) in self.client.received
        ]
        return self.sent[: max(acked, default=0)]

    async def type_until_closed(self, deadline: float) -> None:
        while not self.client.closed.is_set() and time.monotonic() < deadline:
            token = f"<{self.number}:{len(self.sent) + 1}>"
            self.client.append(token)
            self.sent.append(token)
            with suppress(ConnectionClosed):
                await asyncio.sleep(0)  # the update leaves before its marker
                await self.client.ws.send(protocol.encode_save_marker(len(self.sent)))
            await asyncio.sleep(random.uniform(0.001, 0.004))


async def _type_then_delete(
    server: ServerProcess, token: str, delay_s: float
) -> tuple[list[str], list[int | None]]:
    """Five typists type; the note is deleted after ``delay_s``.

    Returns their acknowledged tokens and how each connection was closed.
    """
    async with AsyncExitStack() as stack:
        typists = [
            Typist(n, await stack.enter_async_context(YClient.connect(server.ws_url, token)))
            for n in range(TYPISTS)
        ]
        deadline = time.monotonic() + delay_s + 5
        typing = [asyncio.create_task(t.type_until_closed(deadline)) for t in typists]
        await asyncio.sleep(delay_s)  # the moment of the delete is the point of the race
        deleted = await asyncio.to_thread(http.delete, f"{server.url}/api/notes/{token}")
        assert deleted.status_code == 204
        await asyncio.gather(*typing)
        closes = [await typist.client.wait_closed() for typist in typists]
    return [tok for typist in typists for tok in typist.acknowledged()], closes


async def _kept_and_editable(server: ServerProcess, token: str, acked: list[str]) -> str | None:
    """What is wrong with the note: acknowledged edits lost, or it refuses edits; or None."""
    text = server.get_note(token).json()["content"]
    lost = [tok for tok in acked if tok not in text]
    if lost:
        return f"{len(lost)} of {len(acked)} acknowledged edits lost"
    async with YClient.connect(server.ws_url, token) as client:
        client.append("<still editable>")
        try:
            await client.wait_saved()
        except TimeoutError:
            return f"the note refuses edits (closed with {client.close_code})"
    if "<still editable>" not in server.get_note(token).json()["content"]:
        return "the note refuses edits (an acknowledged one is not kept)"
    return None


async def test_deleting_a_note_while_five_people_type_loses_no_acknowledged_edit(
    make_server: MakeServer,
) -> None:
    server = make_server().start()
    notes: list[tuple[str, list[str]]] = []
    problems: list[str] = []
    for round_ in range(ROUNDS):
        token = server.post_note("# Typed into while deleted\n")["id"]
        acked, closes = await _type_then_delete(server, token, random.uniform(0.05, 0.25))
        assert acked, "no keystroke was acknowledged before the delete"
        if set(closes) != {4404}:
            problems.append(f"round {round_}: the delete closed the typists with {closes}")
        restored = http.post(f"{server.url}/api/notes/{token}/undelete")
        assert restored.status_code == 200
        if (problem := await _kept_and_editable(server, token, acked)) is not None:
            problems.append(f"round {round_}, after undelete: {problem}")
        notes.append((token, acked))
    assert server.terminate() == 0
    server.start()
    after = await asyncio.gather(*(_kept_and_editable(server, *note) for note in notes))
    for round_, problem in enumerate(after):
        if problem is not None:
            problems.append(f"round {round_}, after a restart: {problem}")
    failed = len({problem.split(":")[0].split(",")[0] for problem in problems})
    assert not problems, f"{failed} of {ROUNDS} rounds failed:\n" + "\n".join(problems)


RACES = 12


async def _delete_and_rotate(
    server: ServerProcess, token: str, delete_first: bool, gap_s: float
) -> tuple[int, httpx.Response]:
    """DELETE and rotate the edit link ``gap_s`` apart; the delete's status, the rotate's."""

    def rotate() -> httpx.Response:
        return http.post(f"{server.url}/api/notes/{token}/rotate", json={"which": "edit"})

    def remove() -> httpx.Response:
        return http.delete(f"{server.url}/api/notes/{token}")

    first, second = (remove, rotate) if delete_first else (rotate, remove)
    started = asyncio.create_task(asyncio.to_thread(first))
    await asyncio.sleep(gap_s)
    answers = await asyncio.gather(started, asyncio.to_thread(second))
    deleted, rotated = answers if delete_first else answers[::-1]
    return deleted.status_code, rotated


def _race_problem(
    server: ServerProcess, note: int, token: str, deleted: int, rotated: httpx.Response
) -> str | None:
    """What is untrue in the two answers, given the note's row now; None if both are true."""
    [(edit_token, deleted_at)] = query(
        server.database_url, "SELECT edit_token, deleted_at FROM note WHERE id = :id", id=note
    )
    given = rotated.json()["id"] if rotated.status_code == 200 else token
    answers = f"delete {deleted}, rotate {rotated.status_code}"
    if edit_token != given:
        return f"{answers}: the note's edit link is one nobody was given"
    if (deleted == 204) != (deleted_at is not None):
        return f"{answers}: the note is {'' if deleted_at else 'not '}deleted"
    if deleted == 204 and rotated.status_code == 200:
        return f"{answers}: both cannot be true of one edit link"
    if deleted_at is not None:
        restored = http.post(f"{server.url}/api/notes/{given}/undelete")
        if restored.status_code != 200:
            return f"{answers}: its edit link cannot restore it ({restored.status_code})"
    return None


async def test_deleting_and_rotating_at_once_gives_answers_that_are_both_true(
    server: ServerProcess,
) -> None:
    problems = []
    for race in range(RACES):
        token = server.post_note("# Deleted and rotated at once\n")["id"]
        [(note,)] = query(server.database_url, "SELECT id FROM note WHERE edit_token = :t", t=token)
        async with YClient.connect(server.ws_url, token) as client:
            deadline = time.monotonic() + 5
            typist = Typist(0, client)
            typing = asyncio.create_task(typist.type_until_closed(deadline))
            await asyncio.sleep(0.05)  # typing is under way
            delete_first = race % 2 == 0
            gap_s = random.uniform(0, 0.005)
            deleted, rotated = await _delete_and_rotate(server, token, delete_first, gap_s)
            await client.wait_closed()  # by the delete (4404) or the rotation (4403)
            await typing
        problem = _race_problem(server, note, token, deleted, rotated)
        if problem is None:  # the link its holder has now: what was typed is there
            given = rotated.json()["id"] if rotated.status_code == 200 else token
            problem = await _kept_and_editable(server, given, typist.acknowledged())
        if problem is not None:
            order = "delete first" if delete_first else "rotate first"
            problems.append(f"race {race} ({order}, {gap_s * 1000:.1f} ms): {problem}")
    assert not problems, f"{len(problems)} of {RACES} races:\n" + "\n".join(problems)
