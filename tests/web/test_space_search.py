"""GET /api/spaces/{token}/search on a real server: a space's edit link finds its notes
by their edit tokens and the text their versions removed; its view link finds them by
their view tokens, reveals no edit token, and reaches no removed text; a note outside
the space, a deleted note, a replaced link or a deleted space finds nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from support.http import http
from support.live import LiveServer
from support.yclient import YClient

FRESH_S = 2.0  # the promise: a committed word is findable this soon


def space_search(live: LiveServer, token: str, q: str, **params: Any) -> Any:
    return http.get(f"{live.url}/api/spaces/{token}/search", params={"q": q, **params})


def wait_results(live: LiveServer, token: str, q: str, **params: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + FRESH_S + 3
    while True:
        response = space_search(live, token, q, **params)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        if results or time.monotonic() > deadline:
            return results
        time.sleep(0.1)


def make_space(live: LiveServer) -> dict[str, Any]:
    response = http.post(f"{live.url}/api/spaces", json={"name": "Team"})
    assert response.status_code == 201
    space: dict[str, Any] = response.json()
    return space


def add_note(live: LiveServer, space: dict[str, Any], content: str) -> dict[str, Any]:
    response = http.post(f"{live.url}/api/spaces/{space['id']}/notes", json={"content": content})
    assert response.status_code == 201
    note: dict[str, Any] = response.json()
    return note


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_each_link_of_a_space_finds_its_notes_by_that_links_role(live: LiveServer) -> None:
    space = make_space(live)
    note = add_note(live, space, "# Rota\nwho waters the ficus on Fridays")
    add_note(live, space, "# Lunch\nsoup on Tuesdays")
    outside = live.post_note("# Elsewhere\nthe ficus in the other office")
    [hit] = wait_results(live, space["id"], "FICUS")
    assert hit["id"] == note["id"] and hit["title"] == "Rota" and hit["deleted"] is False
    [start, end] = hit["highlights"][0]
    assert hit["snippet"][start:end] == "ficus"
    viewed = space_search(live, space["view_id"], "ficus")
    assert viewed.status_code == 200
    assert [r["id"] for r in viewed.json()["results"]] == [note["view_id"]]
    assert note["id"] not in viewed.text and outside["view_id"] not in viewed.text
    assert space["id"] not in viewed.text
    # As typed, the last word is a prefix; phrases in quotes.
    assert [r["id"] for r in wait_results(live, space["id"], "tues")] != []
    assert space_search(live, space["id"], '"on Fridays"').json()["results"][0]["id"] == note["id"]


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_removed_words_are_found_through_the_edit_link_only(live: LiveServer) -> None:
    space = make_space(live)
    paragraph = "We agreed to repaint the lighthouse.\n"
    note = add_note(live, space, "Minutes\n" + paragraph + "Next meeting Monday.\n")
    async with YClient.connect(live.ws_url, note["id"]) as ada:
        await ada.set_presence({"user": {"name": "Ada"}})
        start = str(ada.text).index(paragraph)
        ada.text.__delitem__(slice(start, start + len(paragraph)))
        await ada.wait_saved()
        [hit] = wait_results(live, space["id"], "lighthouse", deleted="true")
    assert hit["deleted"] is True and hit["removed_by"] == "Ada" and hit["id"] == note["id"]
    version = http.get(f"{live.url}/api/notes/{note['id']}/versions/{hit['version']}")
    assert version.status_code == 200 and paragraph in version.json()["content"]
    assert space_search(live, space["id"], "lighthouse").json()["results"] == []
    refused = space_search(live, space["view_id"], "lighthouse", deleted="true")
    assert refused.status_code == 403 and "edit link" in refused.json()["detail"]


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_a_deleted_note_a_replaced_link_or_a_deleted_space_finds_nothing(
    live: LiveServer,
) -> None:
    space = make_space(live)
    note = add_note(live, space, "# Plans\nthe quarterly figures")
    assert wait_results(live, space["id"], "quarterly")
    assert http.delete(f"{live.url}/api/notes/{note['id']}").status_code == 204
    assert space_search(live, space["id"], "quarterly").json()["results"] == []
    assert http.post(f"{live.url}/api/notes/{note['id']}/undelete").status_code == 200
    assert len(space_search(live, space["id"], "quarterly").json()["results"]) == 1
    rotated = http.post(f"{live.url}/api/spaces/{space['id']}/rotate", json={"which": "view"})
    assert rotated.status_code == 200
    assert space_search(live, space["view_id"], "quarterly").status_code == 404
    assert space_search(live, rotated.json()["view_id"], "quarterly").status_code == 200
    assert http.delete(f"{live.url}/api/spaces/{space['id']}").status_code == 204
    assert space_search(live, space["id"], "quarterly").status_code == 404


def test_bad_queries_are_refused_with_a_reason_and_the_route_is_in_the_schema(
    live: LiveServer,
) -> None:
    space = make_space(live)
    assert space_search(live, space["id"], "").status_code == 422
    assert space_search(live, space["id"], "x" * 201).status_code == 422
    assert space_search(live, "nosuchspace", "x").status_code == 404
    schema = http.get(f"{live.url}/api/openapi.json").json()
    assert "get" in schema["paths"]["/api/spaces/{token}/search"]
