"""The search index after a SIGKILL, and ``collab-notes reindex`` and ``check``: the index
is rebuilt from the log, and what is behind or wrong is reported."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from support.search import search, wait_found
from support.server import MakeServer, ServerProcess
from support.sql import query
from support.yclient import YClient


def execute(url: str, sql: str, **params: object) -> None:
    """Run one statement that returns no rows, committed."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


def run(command: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", command, "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def type_until_killed(server: ServerProcess, token: str, words: list[str]) -> None:
    """Type ``words`` (deleting every fifth again); SIGKILL the server halfway, mid-burst."""
    async with YClient.connect(server.ws_url, token) as typist:
        for i, word in enumerate(words):
            typist.append(f"{word} ")
            if i % 5 == 4:
                start = str(typist.text).index(f"{word} ")
                del typist.text[start : start + len(word) + 1]
            if i == len(words) // 2:
                await typist.wait_saved()  # half of it is committed for sure
                typist.append("unsaved ")
                server.kill()  # the index is behind, the next edits are cut off
                return
            await asyncio.sleep(0.002)


async def test_after_a_sigkill_during_a_burst_every_committed_word_is_findable(
    make_server: MakeServer,
) -> None:
    server = make_server().start()
    note = server.post_note("Burst\n")
    words = [f"zebra{i}x" for i in range(60)]
    await type_until_killed(server, note["id"], words)
    server.start()
    committed = server.get_note(note["id"]).json()["content"].split()
    kept = [word for word in words if word in committed]
    assert len(kept) >= 24  # what was saved before the kill: 31 typed, 6 deleted
    await wait_found(server, kept[-1], [note["id"]])
    found = {word: bool(search(server, word, [note["id"]])) for word in words}
    assert [word for word in kept if not found[word]] == []
    assert [word for word in words if found[word] and word not in committed] == []


@pytest.mark.sqlite_only  # check reads SQLite files; reindex is tested on both below
async def test_check_reports_an_index_behind_or_wrong_and_reindex_mends_it(
    make_server: MakeServer,
) -> None:
    server = make_server().start()
    notes = [server.post_note(f"Note {i}\nword{i}a and more") for i in range(3)]
    for i, note in enumerate(notes):
        await wait_found(server, f"word{i}a", [note["id"]])
    server.terminate()
    url = server.database_url
    [first, second] = [n for (n,) in query(url, "SELECT id FROM note ORDER BY id")][:2]
    execute(url, "UPDATE search_note SET body = 'something else' WHERE note_id = :n", n=first)
    execute(url, "DELETE FROM search_note WHERE note_id = :n", n=second)
    execute(url, "UPDATE note SET updated_at = '2026-01-01 00:00:00' WHERE id = :n", n=second)

    checked = run("check", url)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"note {first}: search index wrong at update 1" in checked.stdout
    assert f"note {second}: search index behind: not indexed of 1" in checked.stdout

    rebuilt = run("reindex", url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "3 notes indexed" in rebuilt.stdout
    assert run("check", url).returncode == 0
    server.start()
    assert (
        search(server, "word0a", [notes[0]["id"]])
        and search(server, "else", [notes[0]["id"]]) == []
    )


async def test_reindex_rebuilds_the_index_from_the_log(make_server: MakeServer) -> None:
    server = make_server().start()
    note = server.post_note("Ledger\nbalance sheet")
    async with YClient.connect(server.ws_url, note["id"]) as ana:
        ana.append(" with receipts")
        await ana.wait_saved()
    await wait_found(server, "receipts", [note["id"]])
    server.terminate()
    execute(server.database_url, "DELETE FROM search_note")
    execute(server.database_url, "DELETE FROM search_removed")
    rebuilt = run("reindex", server.database_url)
    assert rebuilt.returncode == 0 and "1 note indexed" in rebuilt.stdout, rebuilt.stderr
    rows = query(server.database_url, "SELECT position, body FROM search_note")
    assert rows == [(2, "balance sheet with receipts")]
