"""The REST API's limits: body sizes (413) and the rate of new notes per address (429)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from support.http import http
from support.live import LiveServer
from support.rawhttp import connect, read_until_closed, status_of


def test_a_declared_body_over_the_limit_gets_413_before_any_of_it_is_sent(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_request_body_bytes=1000).start()
    with connect(server.settings.port) as sock:
        sock.sendall(
            b"POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: 100000000\r\n\r\n"
        )
        response = read_until_closed(sock)  # and the connection is closed: nothing more is read
    assert status_of(response) == 413
    assert b"larger than the server accepts (1000 bytes)" in response
    server.wait_for_log("with 413: its request body is over 1000 bytes (declares 100000000 bytes)")


def test_a_chunked_body_that_grows_past_the_limit_gets_413(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_request_body_bytes=1000).start()
    body = b'{"content": "' + b"x" * 5000 + b'"}'
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 500]), body[i : i + 500])
        for i in range(0, len(body), 500)
    )
    with connect(server.settings.port) as sock:
        sock.sendall(
            b"POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
        )
        response = read_until_closed(sock)
    assert status_of(response) == 413
    server.wait_for_log("with 413: its request body is over 1000 bytes (grew past that)")


def test_a_body_within_the_limit_still_creates_its_note(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_request_body_bytes=1000).start()
    response = http.post(server.url + "/api/notes", json={"content": "x" * 900})
    assert response.status_code == 201


def test_the_default_body_limit_takes_a_note_of_2_000_000_four_byte_characters(
    live: LiveServer,
) -> None:
    response = http.post(
        live.url + "/api/notes", json={"content": "\U0001f600" * 2_000_000}, timeout=60
    )
    assert response.status_code == 201, response.text[:200]


def test_creating_notes_past_the_rate_gets_429_with_retry_after_for_that_address_only(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_notes_created_per_minute=3).start()
    statuses = [http.post(server.url + "/api/notes", json={}).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    refused = http.post(server.url + "/api/notes", json={})
    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many new notes from your address; try again later"}
    assert 1 <= int(refused.headers["retry-after"]) <= 20  # a token comes back every 20 s
    server.wait_for_log("refused 127.0.0.1 a new note with 429")
    other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with other:
        assert other.post(server.url + "/api/notes", json={}).status_code == 201
