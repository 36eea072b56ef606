"""The REST contract, against a real server on a real SQLite file."""

from __future__ import annotations

import pytest
from support.http import http
from support.live import LiveServer
from websockets.asyncio.client import connect


@pytest.fixture
def server(live: LiveServer) -> LiveServer:
    """This module's tests need no process of their own: an in-process server."""
    return live


def test_healthz_answers_ok_once_the_database_answers(server: LiveServer) -> None:
    response = http.get(server.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_creating_a_note_returns_its_capability_link(server: LiveServer) -> None:
    response = http.post(server.url + "/api/notes", json={})
    assert response.status_code == 201
    note = response.json()
    assert note["url"] == f"/n/{note['id']}"
    assert len(note["id"]) >= 22  # 128 bits and more of URL-safe base64
    assert note["view_id"] != note["id"]


def test_a_note_can_start_with_content_and_is_read_back(server: LiveServer) -> None:
    note = server.post_note("\n\n## Shopping list\n- milk\n")
    response = server.get_note(note["id"])
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Shopping list"
    assert body["content"] == "\n\n## Shopping list\n- milk\n"
    assert {"id", "title", "content", "created_at", "updated_at"} <= body.keys()


def test_a_body_is_optional_when_creating_a_note(server: LiveServer) -> None:
    response = http.post(server.url + "/api/notes", headers={"content-type": "application/json"})
    assert response.status_code == 201
    assert server.get_note(response.json()["id"]).json()["content"] == ""


def test_an_unknown_note_is_a_json_404(server: LiveServer) -> None:
    response = server.get_note("no-such-note-token-at-all")
    assert response.status_code == 404
    assert response.json() == {"detail": "no note has this link"}


def test_bad_json_gets_a_422_that_says_so(server: LiveServer) -> None:
    response = http.post(
        server.url + "/api/notes",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["problems"] == ["the request body is not valid JSON"]


def test_content_of_the_wrong_type_gets_a_422_naming_the_field(server: LiveServer) -> None:
    response = http.post(server.url + "/api/notes", json={"content": 42})
    assert response.status_code == 422
    assert response.json()["problems"][0].startswith("content:")


def test_the_view_link_reads_the_note_without_revealing_the_edit_link(
    server: LiveServer,
) -> None:
    note = server.post_note("secret plans")
    body = server.get_note(note["view_id"]).json()
    assert body["role"] == "viewer"
    assert body["content"] == "secret plans"
    assert note["id"] not in str(body)


def test_a_note_exports_as_a_markdown_download_named_after_its_title(
    server: LiveServer,
) -> None:
    note = server.post_note("# Trip: Lisbon/Porto\nday 1")
    response = http.get(f"{server.url}/api/notes/{note['id']}/export.md")
    assert response.status_code == 200
    assert response.text == "# Trip: Lisbon/Porto\nday 1"
    assert response.headers["content-type"].startswith("text/markdown")
    assert 'filename="Trip Lisbon Porto.md"' in response.headers["content-disposition"]


async def test_rotating_the_edit_link_closes_its_connections_with_4403(
    server: LiveServer,
) -> None:
    from support.yclient import YClient

    note = server.post_note("x")
    async with (
        YClient.connect(server.ws_url, note["id"]) as editor,
        YClient.connect(server.ws_url, note["view_id"]) as viewer,
    ):
        response = http.post(f"{server.url}/api/notes/{note['id']}/rotate", json={"which": "edit"})
        assert response.status_code == 200
        new_id = response.json()["id"]
        assert new_id != note["id"] and response.json()["view_id"] == note["view_id"]
        assert await editor.wait_closed(timeout_s=1.0) == 4403
        assert not viewer.closed.is_set()
    assert server.get_note(note["id"]).status_code == 404
    async with connect(f"{server.ws_url}/{note['id']}") as old_link:  # not cached anywhere
        await old_link.wait_closed()
        assert old_link.close_code == 4404
    assert server.get_note(new_id).json()["content"] == "x"


def test_rotating_the_view_link_keeps_the_edit_link(server: LiveServer) -> None:
    note = server.post_note()
    rotated = http.post(f"{server.url}/api/notes/{note['id']}/rotate", json={"which": "view"})
    assert rotated.json()["id"] == note["id"]
    assert server.get_note(note["view_id"]).status_code == 404
    assert server.get_note(rotated.json()["view_id"]).json()["role"] == "viewer"


def test_a_viewer_cannot_rotate_links(server: LiveServer) -> None:
    note = server.post_note()
    response = http.post(f"{server.url}/api/notes/{note['view_id']}/rotate", json={"which": "view"})
    assert response.status_code == 403
    assert server.get_note(note["view_id"]).status_code == 200


@pytest.mark.parametrize(
    "title",
    ["Plan\x7fB", "bell\x07 and next-line\x85 and CSI\x9b", "line\u2028separator"],
    ids=["DEL", "C0 and C1 controls", "U+2028"],
)
def test_a_title_with_control_characters_exports_under_a_clean_file_name(
    server: LiveServer, title: str
) -> None:
    note = server.post_note(f"# {title}\nbody")
    response = http.get(f"{server.url}/api/notes/{note['id']}/export.md")
    assert response.status_code == 200
    assert response.text == f"# {title}\nbody"
    disposition = response.headers["content-disposition"]
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in disposition)
    assert disposition.startswith('attachment; filename="') and '.md"' in disposition


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"content": "caf\xe9"}', "the request body is not valid JSON: it is not UTF-8"),
        (
            b"[" * 100_000 + b"]" * 100_000,
            "the request body must be a JSON object of strings, numbers, booleans or nulls",
        ),
    ],
    ids=["Latin-1 bytes", "100,000 nested arrays"],
)
def test_a_body_that_cannot_be_parsed_gets_the_documented_422(
    server: LiveServer, body: bytes, problem: str
) -> None:
    response = http.post(
        server.url + "/api/notes", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "invalid request", "problems": [problem]}
