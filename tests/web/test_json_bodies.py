"""JSON request bodies: read after the cheap checks, as JSON only, flat, and no more than needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.http import http
from support.live import LiveServer
from support.rawhttp import connect, read_until_closed, status_of
from support.server import MakeServer

JSON = {"content-type": "application/json"}
LIST_OF_EMPTY_OBJECTS = b"[" + b",".join([b"{}"] * 2_790_000) + b"]"  # 8.37 MB, under 8 MiB
NOT_AN_OBJECT = "the request body must be a JSON object of strings, numbers, booleans or nulls"


def peak_rss_kib(pid: int) -> int:
    """The process's high-water mark of resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def test_a_body_that_is_refused_still_counts_against_the_rate_of_new_notes(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_notes_created_per_minute=3).start()
    refused = [
        http.post(server.url + "/api/notes", content=b"[{}]", headers=JSON).status_code
        for _ in range(3)
    ]
    assert refused == [422, 422, 422]
    assert http.post(server.url + "/api/notes", json={}).status_code == 429


@pytest.mark.parametrize(
    ("path", "status", "problems"),
    [
        ("/api/notes", 422, [NOT_AN_OBJECT]),
        ("/api/notes/no-such-note-token-at-all/rotate", 404, None),  # not even read
    ],
    ids=["a new note", "a link that opens no note"],
)
def test_a_list_of_millions_of_values_is_refused_without_parsing_it(
    make_server: MakeServer, path: str, status: int, problems: list[str] | None
) -> None:
    server = make_server().start()
    assert server.proc is not None
    before = peak_rss_kib(server.proc.pid)
    for _ in range(2):
        response = http.post(
            server.url + path, content=LIST_OF_EMPTY_OBJECTS, headers=JSON, timeout=60
        )
        assert response.status_code == status
        assert response.json().get("problems") == problems
    grown_mib = (peak_rss_kib(server.proc.pid) - before) / 1024
    # Parsed into Python objects it took about 200 MiB; read as bytes, about two copies.
    assert grown_mib < 60, f"the server's peak memory grew by {grown_mib:.0f} MiB"


@pytest.mark.parametrize(
    "body",
    [
        b'{"content": "x", "junk": [' + b",".join([b"0"] * 4_180_000) + b"]}",
        b'{"content": "x", "more": {"content": "y"}}',
    ],
    ids=["8.36 MB of junk beside the content", "a nested object"],
)
def test_a_body_with_a_list_or_object_inside_is_refused(live: LiveServer, body: bytes) -> None:
    response = http.post(live.url + "/api/notes", content=body, headers=JSON, timeout=60)
    assert response.status_code == 422
    assert response.json()["problems"] == [NOT_AN_OBJECT]


def test_a_field_the_api_does_not_know_is_refused_by_name(live: LiveServer) -> None:
    response = http.post(live.url + "/api/notes", json={"content": "x", "junk": 1})
    assert response.status_code == 422
    assert response.json()["problems"] == ["junk: Extra inputs are not permitted"]


def test_strings_full_of_quotes_braces_and_escapes_are_still_a_note(live: LiveServer) -> None:
    content = '{"a": [1, {"b": "\\\\"}]} \\" \u00e9 \U0001f600 ' * 1000
    note = live.post_note(content)
    assert live.get_note(note["id"]).json()["content"] == content


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}],
    ids=["text/plain", "a form", "no content type"],
)
def test_only_json_creates_a_note_so_a_cross_site_form_cannot(
    live: LiveServer, headers: dict[str, str]
) -> None:
    response = http.post(live.url + "/api/notes", content=b"", headers=headers)
    assert response.status_code == 415
    assert response.json() == {"detail": "send the body as JSON: Content-Type: application/json"}


def test_an_empty_json_body_creates_an_empty_note(live: LiveServer) -> None:
    response = http.post(live.url + "/api/notes", headers=JSON)
    assert response.status_code == 201
    assert live.get_note(response.json()["id"]).json()["content"] == ""


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/rotate", {"which": "view"}),
        ("/versions", {"name": "v1"}),
        ("/versions/{version}/restore", {"author": "Ann"}),
    ],
    ids=["rotate", "name a version", "restore"],
)
def test_every_json_route_takes_json_only_flat_small_and_without_unknown_fields(
    live: LiveServer, path: str, body: dict[str, str]
) -> None:
    note = live.post_note("text")
    base = f"{live.url}/api/notes/{note['id']}"
    version = http.post(base + "/versions", json={"name": "first"}).json()["id"]
    url = base + path.format(version=version)
    assert http.post(url, json={**body, "junk": 1}).status_code == 422
    as_text = http.post(url, content=b'{"which": "view"}', headers={"content-type": "text/plain"})
    assert as_text.status_code == 415
    large = http.post(url, json={**body, "pad": "x" * 5000})
    assert large.status_code == 413
    assert http.post(url, content=b'{"x": [1]}', headers=JSON).status_code == 422
    assert http.post(url, json=body).status_code in (200, 201)


@pytest.mark.parametrize(
    ("content_type", "status"), [("application/json", 413), ("text/plain", 415)]
)
def test_a_body_refused_before_it_is_read_closes_the_connection(
    make_live: Callable[..., LiveServer], content_type: str, status: int
) -> None:
    # Timeouts far beyond the wait, so that only the refusal can close the connection.
    server = make_live(idle_connection_timeout_s=120, request_head_timeout_s=120).start()
    token = server.post_note("x")["id"]
    with connect(server.settings.port) as sock:
        sock.sendall(
            f"POST /api/notes/{token}/rotate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"content-type: {content_type}\r\ncontent-length: 100000\r\n\r\n".encode()
        )
        response = read_until_closed(sock, timeout_s=30)
    assert status_of(response) == status


def test_the_spaces_and_search_routes_take_json_only_and_without_unknown_fields(
    live: LiveServer,
) -> None:
    space = http.post(f"{live.url}/api/spaces", json={"name": "Team"}).json()
    note = http.post(f"{live.url}/api/spaces/{space['id']}/notes", json={"content": "# A"}).json()
    routes = [
        (f"/api/spaces/{space['id']}/notes", {"content": "# B"}),
        (f"/api/spaces/{space['id']}/rotate", {"which": "view"}),
        (f"/api/notes/{note['id']}/template", {"template": True}),
        (f"/api/notes/{note['id']}/move", {"space": space["id"]}),
        ("/api/spaces", {"name": "Other"}),
    ]
    for path, body in routes:
        url = live.url + path
        assert http.post(url, json={**body, "junk": 1}).status_code == 422, path
        as_form = http.post(url, content=b"which=view", headers={"content-type": "text/plain"})
        assert as_form.status_code == 415, path
        assert http.post(url, content=b'{"x": [1]}', headers=JSON).status_code == 422, path
        assert http.post(url, json=body).status_code in (200, 201), path
    search = f"{live.url}/api/search"
    tokens = [note["id"]] * 3
    assert http.post(search, json={"q": "A", "tokens": tokens}).status_code == 200
    assert http.post(search, json={"q": "A", "tokens": tokens, "junk": 1}).status_code == 422
    nested = b'{"q": "A", "tokens": [["x"]]}'
    assert http.post(search, content=nested, headers=JSON).status_code == 422
    inside = b'{"q": "A", "tokens": [{"x": 1}]}'
    assert http.post(search, content=inside, headers=JSON).status_code == 422
    assert http.post(search, content=b'{"q": "A", "tokens": []}').status_code == 415
