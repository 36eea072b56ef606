"""POST /api/search on a real server: typed words are found within 2 s, deleted notes
vanish and return, removed text is found with its version, author and time, and a view
token's results never carry an edit token or a version."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from support.http import http
from support.live import LiveServer
from support.search import search, wait_found
from support.yclient import YClient

from web.routes.search import MAX_SPACES, MAX_TOKENS

FRESH_S = 2.0  # the promise: a committed word is findable this soon


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_a_word_typed_over_the_websocket_is_findable_within_2_s(live: LiveServer) -> None:
    note = live.post_note("# Field notes\n")
    async with YClient.connect(live.ws_url, note["id"]) as ana:
        ana.append("saw a kingfisher by the river")
        await ana.wait_saved()
        committed = time.monotonic()
        [result] = await wait_found(live, "kingfisher", [note["id"]], timeout_s=FRESH_S)
    assert time.monotonic() - committed < FRESH_S
    assert result["id"] == note["id"] and result["title"] == "Field notes"
    assert result["deleted"] is False
    [start, end] = result["highlights"][0]
    assert result["snippet"][start:end] == "kingfisher"


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_a_find_and_replace_over_a_large_note_is_indexed(live: LiveServer) -> None:
    """Its 2,000 replacements are logged as some 60 KB of pieces: the indexer applies a
    tail that large to its copy of the note in a process of its own (web.searchindex)."""
    original = "".join(f"line {n} holds the word alpha\n" for n in range(2_000))
    note = live.post_note(original)
    await wait_found(live, "alpha", [note["id"]])  # indexed once: the indexer keeps its copy
    async with YClient.connect(live.ws_url, note["id"]) as ana:
        with ana.doc.transaction():
            for at in reversed(
                [n for n in range(len(original)) if original.startswith("alpha", n)]
            ):
                del ana.text[at : at + 5]
                ana.text.insert(at, "omega")
        await ana.wait_saved(timeout_s=30)
        [result] = await wait_found(live, "omega", [note["id"]], timeout_s=10)
    assert result["id"] == note["id"] and "omega" in result["snippet"]
    assert await asyncio.to_thread(search, live, "alpha", [note["id"]]) == []


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_case_accents_prefix_and_phrases_match_and_a_view_token_names_the_note(
    live: LiveServer,
) -> None:
    note = live.post_note("Menu du jour\nUn café noir, une crème brûlée.")
    other = live.post_note("Other\nbrûlée crème")
    tokens = [note["view_id"], other["id"]]
    [result] = await wait_found(live, "CAFE", tokens)
    assert result["id"] == note["view_id"] and result["role"] == "viewer"
    assert note["id"] not in str(result)
    assert [r["id"] for r in search(live, "caf", tokens)] == [note["view_id"]]
    assert await wait_found(live, "creme", [other["id"]])
    assert [r["id"] for r in search(live, '"crème brûlée"', tokens)] == [note["view_id"]]
    assert {r["id"] for r in search(live, "creme brulee", tokens)} == set(tokens)
    assert search(live, "cafe", [other["id"]]) == []  # only the notes whose tokens are sent


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_a_deleted_note_vanishes_from_results_at_once_and_returns_with_undelete(
    live: LiveServer,
) -> None:
    note = live.post_note("Plans\nthe quarterly figures")
    assert await wait_found(live, "quarterly", [note["id"]])
    assert http.delete(f"{live.url}/api/notes/{note['id']}").status_code == 204
    assert search(live, "quarterly", [note["id"]]) == []
    assert http.post(f"{live.url}/api/notes/{note['id']}/undelete").status_code == 200
    assert [r["id"] for r in search(live, "quarterly", [note["id"]])] == [note["id"]]


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_removed_words_are_found_with_the_version_that_has_them_who_and_when(
    live: LiveServer,
) -> None:
    paragraph = "We agreed to repaint the lighthouse.\n"
    note = live.post_note("Minutes\n" + paragraph + "Next meeting Monday.\n")
    async with YClient.connect(live.ws_url, note["id"]) as ada:
        await ada.set_presence({"user": {"name": "Ada"}})
        start = str(ada.text).index(paragraph)
        ada.text.__delitem__(slice(start, start + len(paragraph)))
        await ada.wait_saved()
        [hit] = await wait_found(live, "lighthouse", [note["id"]], deleted=True)
    assert search(live, "lighthouse", [note["id"]]) == []  # not in the current text
    assert hit["deleted"] is True and hit["removed_by"] == "Ada" and hit["removed_at"]
    version = http.get(f"{live.url}/api/notes/{note['id']}/versions/{hit['version']}")
    assert version.status_code == 200 and paragraph in version.json()["content"]
    [start, end] = hit["highlights"][0]
    assert hit["snippet"][start:end] == "lighthouse"
    # Through the view token: no deleted text (it is the history's, for editors).
    assert search(live, "lighthouse", [note["view_id"]], deleted=True) == []
    # Typed again, the word is current text, not deleted text.
    async with YClient.connect(live.ws_url, note["id"]) as ada:
        ada.append("The lighthouse after all.")
        await ada.wait_saved()
        await wait_found(live, "lighthouse", [note["id"]])
    assert [r["deleted"] for r in search(live, "lighthouse", [note["id"]], deleted=True)] == [False]


async def test_the_notes_of_the_spaces_sent_are_searched_by_the_space_links_role(
    live: LiveServer,
) -> None:
    space = http.post(f"{live.url}/api/spaces", json={"name": "Birding club"}).json()
    inside = http.post(
        f"{live.url}/api/spaces/{space['id']}/notes", json={"content": "Walk\nan osprey fishing"}
    ).json()
    outside = live.post_note("Elsewhere\nanother osprey")

    def found(spaces: list[str], tokens: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        body = {"q": "osprey", "tokens": list(tokens), "spaces": spaces}
        response = http.post(f"{live.url}/api/search", json=body, timeout=10)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    [hit] = await wait_spaces(found, [space["id"]])
    await wait_found(live, "osprey", [outside["id"]])
    assert (hit["id"], hit["role"], hit["space"]) == (inside["id"], "editor", "Birding club")
    [hit] = found([space["view_id"]])
    assert (hit["id"], hit["role"]) == (inside["view_id"], "viewer")
    assert inside["id"] not in str(found([space["view_id"]], (outside["view_id"],)))
    # A note held by its comment link and reached through the space's view link keeps it.
    [hit] = found([space["view_id"]], (inside["comment_id"],))
    assert (hit["id"], hit["role"]) == (inside["comment_id"], "commenter")
    # A note held by its view token and reached through the space's edit link: the edit token.
    [hit] = found([space["id"]], (inside["view_id"],))
    assert hit["id"] == inside["id"]
    both = {r["id"] for r in found([space["id"]], (outside["id"],))}
    assert both == {inside["id"], outside["id"]}
    assert found(["not-a-space"]) == []
    assert http.delete(f"{live.url}/api/spaces/{space['id']}").status_code == 204
    assert found([space["id"], space["view_id"]]) == []  # a deleted space reaches nothing
    too_many = [f"s{i}" for i in range(MAX_SPACES + 1)]
    body = {"q": "x", "tokens": [], "spaces": too_many}
    response = http.post(f"{live.url}/api/search", json=body)
    assert response.status_code == 422 and "spaces" in response.text


async def wait_spaces(
    found: Callable[[list[str]], list[dict[str, Any]]], spaces: list[str]
) -> list[dict[str, Any]]:
    """Poll until the index has the space's notes (it is built off the keystroke path)."""
    deadline = time.monotonic() + 10
    while not (results := await asyncio.to_thread(found, spaces)):
        assert time.monotonic() < deadline, "the space's note was never found"
        await asyncio.sleep(0.05)
    return results


def test_too_many_tokens_or_an_empty_query_is_refused_with_a_reason(live: LiveServer) -> None:
    tokens = [f"t{i}" for i in range(MAX_TOKENS + 1)]
    response = http.post(f"{live.url}/api/search", json={"q": "x", "tokens": tokens})
    assert response.status_code == 422 and "tokens" in response.text
    response = http.post(f"{live.url}/api/search", json={"q": "", "tokens": []})
    assert response.status_code == 422
    assert search(live, "anything", ["not-a-token"]) == []
    assert "/api/search" in http.get(f"{live.url}/api/openapi.json").json()["paths"]
