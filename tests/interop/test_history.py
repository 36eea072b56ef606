"""Version history over REST, with stock npm y-websocket clients doing the editing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from interop.nodeclient import NodeClient
from support.http import http
from support.live import LiveServer
from support.waiting import until

pytestmark = pytest.mark.interop

PARAGRAPHS = "# Plan\n\nFirst paragraph, keep me.\n\nSecond paragraph, by Ana.\n"


@pytest.fixture
def server(make_live: Callable[..., LiveServer]) -> LiveServer:
    """Versions start after a pause of 1 s (someone new: 0.1 s) instead of minutes."""
    return make_live(version_gap_s=1).start()


def versions(server: LiveServer, token: str, **params: Any) -> list[dict[str, Any]]:
    response = http.get(f"{server.url}/api/notes/{token}/versions", params=params, timeout=10)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["versions"]
    return found


async def test_the_history_shows_who_changed_what_and_a_version_reads_back_as_it_was(
    server: LiveServer,
) -> None:
    note = server.post_note(PARAGRAPHS)
    async with NodeClient.start(server.ws_url, note["id"], name="ben") as ben:
        await ben.set_awareness({"user": {"name": "Ben", "color": "#123456"}})
        start = PARAGRAPHS.index("First paragraph")
        await ben.delete(start, len("First paragraph, keep me.\n\n"))
        await ben.wait_text(PARAGRAPHS.replace("First paragraph, keep me.\n\n", ""))
    listed = versions(server, note["id"])
    newest, first = listed[0], listed[-1]
    assert "Ben" in newest["authors"]
    assert newest["removed"] == len("First paragraph, keep me.\n\n")
    assert first["added"] == len(PARAGRAPHS) and first["kind"] == "auto"
    response = http.get(f"{server.url}/api/notes/{note['id']}/versions/{first['id']}")
    assert response.status_code == 200
    assert response.json()["content"] == PARAGRAPHS
    assert response.json()["authors"] == first["authors"]


async def test_a_restore_reaches_every_client_at_once_and_undo_brings_back_what_was(
    server: LiveServer,
) -> None:
    note = server.post_note(PARAGRAPHS)
    original = versions(server, note["id"])[0]
    async with (
        NodeClient.start(server.ws_url, note["id"], name="ben") as ben,
        NodeClient.start(server.ws_url, note["id"], name="ana", watch=True) as ana,
    ):
        await ben.set_awareness({"user": {"name": "Ben"}})
        await ben.delete(PARAGRAPHS.index("First"), len("First paragraph, keep me.\n\n"))
        after_delete = PARAGRAPHS.replace("First paragraph, keep me.\n\n", "")
        await ana.wait_text(after_delete)
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            restored = await client.post(
                f"/api/notes/{note['id']}/versions/{original['id']}/restore",
                json={"author": "Ana"},
            )
            assert restored.status_code == 200, restored.text
            assert restored.json()["note"]["content"] == PARAGRAPHS
            undo = restored.json()["undo"]
            assert undo["kind"] == "before-restore"
            await ana.wait_text(PARAGRAPHS)
            await ben.wait_text(PARAGRAPHS)
            undone = await client.post(f"/api/notes/{note['id']}/versions/{undo['id']}/restore")
            assert undone.status_code == 200
            await ben.wait_text(after_delete)
    kinds = [version["kind"] for version in versions(server, note["id"])]
    assert kinds.count("before-restore") == 2


async def until_saved(client: httpx.AsyncClient, token: str, content: str) -> None:
    """Return once the note's saved text (what a REST read serves) is ``content``."""
    deadline = asyncio.get_running_loop().time() + 10
    while (await client.get(f"/api/notes/{token}")).json()["content"] != content:
        assert asyncio.get_running_loop().time() < deadline, f"not saved within 10 s: {content!r}"
        await asyncio.sleep(0.02)


async def test_a_restore_keeps_what_a_collaborator_types_at_the_same_moment_where_it_was(
    server: LiveServer,
) -> None:
    """Cat types while the restore is on its way to her: her words stay where she typed them.

    The writer is held, so the restore is applied on the server but reaches no one yet;
    Cat, still seeing the note without it, types in another paragraph. Replacing the
    whole text would put her words at the top; the restore's smallest edits leave them
    after "gamma", where she typed them.
    """
    text = "alpha\n\nbeta\n\ngamma\n"
    note = server.post_note(text)
    version = versions(server, note["id"])[0]
    async with (
        NodeClient.start(server.ws_url, note["id"], name="cat") as cat,
        httpx.AsyncClient(base_url=server.url, timeout=20) as client,
    ):
        await cat.delete(0, len("alpha\n\n"))  # the change to undo
        await cat.wait_text("beta\n\ngamma\n")
        # Saved before the writer is held: a restore starts from what is saved, and
        # would wait for an edit still on its way to disk (a REST read is of saved text).
        await until_saved(client, note["id"], "beta\n\ngamma\n")
        writer = server.services.store.writer
        writer.paused.clear()  # commits wait: nothing is broadcast
        try:
            restoring = asyncio.create_task(
                client.post(f"/api/notes/{note['id']}/versions/{version['id']}/restore")
            )
            await until(  # applied, not yet sent
                lambda: str(server.services.rooms.rooms[1].text) == text,
                what="the restore applied in the room",
                timeout_s=20,
                every_s=0.01,
            )
            assert await cat.text() == "beta\n\ngamma\n"
            await cat.insert(len("beta\n\ngamma"), " and delta")
        finally:
            writer.paused.set()  # a failure here must not leave the shared server held
        assert (await restoring).status_code == 200
        final = await cat.wait_text("alpha\n\nbeta\n\ngamma and delta\n", timeout=10)
    assert server.get_note(note["id"]).json()["content"] == final


async def test_undo_restore_inverts_the_restore_alone_and_keeps_every_word_written_since(
    server: LiveServer,
) -> None:
    """Ben deletes a paragraph, Ana restores the version with it, Ben writes a line, Ana
    undoes the restore: the paragraph is gone again and Ben's line stays (restoring the
    before-restore version, as Undo restore did, deleted it)."""
    note = server.post_note(PARAGRAPHS)
    original = versions(server, note["id"])[0]
    gone = "First paragraph, keep me.\n\n"
    async with NodeClient.start(server.ws_url, note["id"], name="ben") as ben:
        await ben.delete(PARAGRAPHS.index("First"), len(gone))
        await ben.wait_text(PARAGRAPHS.replace(gone, ""))
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            url = f"/api/notes/{note['id']}/versions"
            restored = await client.post(f"{url}/{original['id']}/restore", json={"author": "Ana"})
            assert restored.status_code == 200, restored.text
            await ben.wait_text(PARAGRAPHS)
            await ben.insert(len(PARAGRAPHS), "Ben's line after the restore.\n")
            await ben.wait_text(PARAGRAPHS + "Ben's line after the restore.\n")
            undo = restored.json()["undo"]
            undone = await client.post(f"{url}/{undo['id']}/undo", json={"author": "Ana"})
            assert undone.status_code == 200, undone.text
            expected = PARAGRAPHS.replace(gone, "") + "Ben's line after the restore.\n"
            assert undone.json()["content"] == expected
            assert undone.json()["kept_inside"] is False
            await ben.wait_text(expected)
            again = await client.post(f"{url}/{undo['id']}/undo")
            assert again.status_code == 409 and "undone already" in again.json()["detail"]
    listed = {version["id"]: version for version in versions(server, note["id"])}
    restore = listed[undo["id"]]["restore"]
    assert restore["by"] == "Ana" and restore["version_id"] == original["id"]
    assert restore["undone_by"] == "Ana"


def test_undo_restore_is_409_with_a_reason_for_any_other_version_403_for_a_view_link(
    server: LiveServer,
) -> None:
    note = server.post_note(PARAGRAPHS)
    first = versions(server, note["id"])[0]
    url = f"{server.url}/api/notes/{note['id']}/versions"
    refused = http.post(f"{url}/{first['id']}/undo", timeout=10)
    assert refused.status_code == 409
    assert "not a before-restore" in refused.json()["detail"]
    restored = http.post(f"{url}/{first['id']}/restore", timeout=10)  # the text is that already
    before = restored.json()["undo"]
    nothing = http.post(f"{url}/{before['id']}/undo", timeout=10)
    assert nothing.status_code == 409 and "restore" in nothing.json()["detail"]
    viewer = http.post(
        f"{server.url}/api/notes/{note['view_id']}/versions/{before['id']}/undo", timeout=10
    )
    assert viewer.status_code == 403
    assert http.post(f"{url}/99999/undo", timeout=10).status_code == 404


def test_naming_a_version_keeps_it_in_the_list_with_its_name(server: LiveServer) -> None:
    note = server.post_note("draft")
    response = http.post(
        f"{server.url}/api/notes/{note['id']}/versions", json={"name": "Before the review"}
    )
    assert response.status_code == 201
    named = response.json()
    assert (named["kind"], named["name"]) == ("named", "Before the review")
    assert versions(server, note["id"])[0]["id"] == named["id"]


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_a_version_name_of_1_to_100_characters_is_required(server: LiveServer, name: str) -> None:
    note = server.post_note("draft")
    response = http.post(f"{server.url}/api/notes/{note['id']}/versions", json={"name": name})
    assert response.status_code == 422


def test_a_view_link_gets_403_for_all_of_the_history(server: LiveServer) -> None:
    note = server.post_note("private past")
    version = versions(server, note["id"])[0]
    base = f"{server.url}/api/notes/{note['view_id']}/versions"
    assert http.get(base).status_code == 403
    assert http.post(base, json={"name": "x"}).status_code == 403
    assert http.get(f"{base}/{version['id']}").status_code == 403
    assert http.post(f"{base}/{version['id']}/restore").status_code == 403


def test_an_unknown_version_is_404_even_another_notes(server: LiveServer) -> None:
    mine, other = server.post_note("mine"), server.post_note("other")
    theirs = versions(server, other["id"])[0]["id"]
    base = f"{server.url}/api/notes/{mine['id']}/versions"
    assert http.get(f"{base}/{theirs}").status_code == 404
    assert http.get(f"{base}/999999").status_code == 404
    assert http.get(f"{base}/not-a-version").status_code == 404
    assert http.post(f"{base}/{theirs}/restore").status_code == 404


def test_the_list_pages_with_before(server: LiveServer) -> None:
    note = server.post_note("v")
    for i in range(5):
        http.post(f"{server.url}/api/notes/{note['id']}/versions", json={"name": f"n{i}"})
    first = versions(server, note["id"], limit=3)
    rest = versions(server, note["id"], limit=3, before=first[-1]["id"])
    names = [v["name"] for v in first + rest]
    assert names == ["n4", "n3", "n2", "n1", "n0", None]
