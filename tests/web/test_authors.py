"""``GET /api/notes/{token}/authors``: who typed each run of the note's Yjs items, for any
link of the note, with a restore's text given to the restorer and the version it restored;
and the runs kept level with the log when a note's room closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pycrdt
from sqlalchemy import Engine
from sqlmodel import Session
from support.http import http
from support.live import LiveServer
from support.sql import query
from support.waiting import until
from support.yclient import YClient

from collab.persistence import Edit
from storage import notes
from storage.updates import SqlDocumentStore
from web.authors_keeper import APART_ROWS, LEVEL_ROWS


def _authors(live: LiveServer, token: str) -> dict[str, Any]:
    answer = http.get(f"{live.url}/api/notes/{token}/authors")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _by_client(runs: list[dict[str, Any]]) -> dict[int, list[tuple[int, int, str | None]]]:
    found: dict[int, list[tuple[int, int, str | None]]] = {}
    for run in runs:
        found.setdefault(run["client"], []).append((run["start"], run["end"], run["author"]))
    return found


async def test_runs_name_each_typist_and_a_restore_is_the_restorers_with_its_version(
    make_live: Callable[..., LiveServer],
) -> None:
    live = make_live(room_grace_s=0.05).start()
    note = live.post_note("first")
    versions = f"{live.url}/api/notes/{note['id']}/versions"
    async with (
        YClient.connect(live.ws_url, note["id"]) as ana,
        YClient.connect(live.ws_url, note["id"]) as ben,
    ):
        await ana.set_presence({"user": {"name": "Ana"}})
        await ben.set_presence({"user": {"name": "Ben"}})
        await ben.wait_until(lambda c: ana.client_id in c.states)
        await ana.wait_until(lambda c: ben.client_id in c.states)
        ana.append(" and more")
        await ana.wait_saved()
        await ben.wait_text("first and more")
        ben.append("!")
        await ben.wait_saved()
        named = await asyncio.to_thread(http.post, versions, json={"name": "With more"})
        assert named.status_code == 201, named.text
        del ben.text[5:]  # "first" again: the restore below brings " and more!" back
        await ben.wait_saved()
        runs = _authors(live, note["view_id"])["runs"]  # a view link may ask
        by_client = _by_client(runs)
        assert by_client[ana.client_id] == [(0, 9, "Ana")]
        assert by_client[ben.client_id] == [(0, 1, "Ben")]
        (initial,) = [run for run in runs if run["client"] not in (ana.client_id, ben.client_id)]
        assert (initial["start"], initial["end"], initial["author"]) == (0, 5, "Anonymous")
        restored = await asyncio.to_thread(
            # A restore takes a process of its own: seconds on a loaded machine.
            http.post,
            f"{versions}/{named.json()['id']}/restore",
            json={"author": "Cat"},
            timeout=60,
        )
        assert restored.status_code == 200, restored.text
        await ana.wait_text("first and more!")
    # Nobody asked since the restore: the room's close brought the runs up to the head,
    # off the keystroke path (web/authors_keeper.py).
    url = live.settings.database_url
    head = query(url, "SELECT head FROM note")[0][0]
    await until(
        lambda: query(url, "SELECT position FROM author_mark") == [(head,)],
        what="the runs stored up to the log's end once the room closed",
        every_s=0.05,
    )
    after = _authors(live, note["id"])
    (cat,) = [run for run in after["runs"] if run["author"] == "Cat"]
    assert cat["end"] - cat["start"] == len(" and more!")
    assert cat["restored"]["kind"] == "named" and cat["restored"]["name"] == "With more"
    assert all(run["restored"] is None for run in after["runs"] if run is not cat)
    assert after["position"] > 0
    assert http.get(f"{live.url}/api/notes/nosuchtoken/authors").status_code == 404


async def test_a_note_with_history_and_no_runs_gets_them_without_anyone_asking(
    engine: Engine, make_live: Callable[..., LiveServer]
) -> None:
    with Session(engine) as session:
        made = notes.create_note(session=session)
    doc: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc(client_id=4242)
    text = doc.get("content", type=pycrdt.Text)
    keystrokes: list[bytes] = []
    doc.observe(lambda event: keystrokes.append(event.update))
    for index in range(APART_ROWS + LEVEL_ROWS):
        text.insert(index, "a")
    first, later = keystrokes[:APART_ROWS], keystrokes[APART_ROWS:]

    async def log(updates: list[bytes]) -> None:  # written as another process would
        async with SqlDocumentStore(engine) as store:
            await asyncio.gather(*(store.append(made.id or 0, Edit(u, "Ana")) for u in updates))

    def mark() -> list[tuple[int, ...]]:
        return query(live.settings.database_url, "SELECT position FROM author_mark")

    # History from before the server (or before attribution) existed: levelled in a
    # process of its own; the later rows, fewer, in the server's worker thread.
    await log(first)
    live = make_live().start()
    await until(
        lambda: mark() == [(len(first),)],
        what="runs stored after the start",
        timeout_s=15,
        every_s=0.05,
    )
    # No room open, nobody asking: LEVEL_ROWS more rows are brought level by a sweep,
    # so a request never reads more than that many (plus one sweep's worth).
    await log(later)
    await until(
        lambda: mark() == [(len(keystrokes),)],
        what="the later rows levelled",
        timeout_s=15,
        every_s=0.05,
    )
    runs = _authors(live, made.view_token)["runs"]
    assert {run["author"] for run in runs} == {"Ana"}
    assert sum(run["end"] - run["start"] for run in runs) == len(keystrokes)
