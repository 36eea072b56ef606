"""Slow, stalled, oversized and surplus connections, on raw sockets against a live server.

uvicorn alone never timed out a request head (trickled bytes even reset its
keep-alive timer), had no cap on open connections, and left a websocket
handshake it refused unanswered with its socket open.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import websockets
from support.http import http
from support.live import LiveServer
from support.rawhttp import (
    close_frame,
    connect,
    read_response_head,
    read_until_closed,
    status_of,
    websocket_upgrade,
)

from collab import protocol

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"


@contextmanager
def stalled_sockets(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that each sent part of a request head, then nothing."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(connect(port))
            sock.sendall(PARTIAL_HEAD)
            sockets.append(sock)
        yield sockets


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
def test_a_stalled_request_head_gets_408_and_is_closed(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(request_head_timeout_s=1.0).start()
    with connect(server.settings.port) as sock:
        sock.sendall(PARTIAL_HEAD)
        response = read_until_closed(sock)
    assert status_of(response) == 408
    assert b"the request head did not arrive within 1 s" in response
    server.wait_for_log("with 408: no complete request head within 1 s")


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
def test_a_head_trickled_a_byte_at_a_time_after_a_response_cannot_outlast_the_timeout(
    make_live: Callable[..., LiveServer],
) -> None:
    # Each byte reset uvicorn's keep-alive timer: this connection stayed open for good.
    server = make_live(request_head_timeout_s=1.0).start()
    trickle = itertools.chain(PARTIAL_HEAD, itertools.cycle(b"X-Slow: y\r\n"))
    with connect(server.settings.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status_of(read_response_head(sock)) == 200
        deadline = time.monotonic() + 15
        answer = None
        while answer is None and time.monotonic() < deadline:
            sock.settimeout(0.2)  # the pace of the trickle: a byte each 0.2 s at most
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                sock.sendall(bytes([next(trickle)]))
        assert answer is not None, "the server kept a trickling connection open for 15 s"
        tail = read_until_closed(sock) if answer else b""
    assert status_of(answer + tail) == 408


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(idle_connection_timeout_s=1).start()
    with connect(server.settings.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = read_response_head(sock)
        assert status_of(head) == 200
        assert read_until_closed(sock, timeout_s=10) in (b"", b'{"status":"ok"}')


@pytest.mark.slow
def test_connections_past_the_cap_get_503_and_the_server_serves_again_once_stalled_ones_go(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_connections=20, request_head_timeout_s=2.0).start()
    port = server.settings.port
    with stalled_sockets(port, 20) as stalled, connect(port) as extra:
        refusal = read_until_closed(extra)
        assert status_of(refusal) == 503
        assert b"retry-after: 5" in refusal.lower()
        assert b"at its limit of 20 connections" in refusal
        server.wait_for_log("the server has its maximum of 20 connections")
        assert all(status_of(read_until_closed(sock)) == 408 for sock in stalled)
    deadline = time.monotonic() + 15
    while http.get(server.url + "/healthz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the server still refused after the stalled ones left"


def test_websockets_count_against_the_connection_cap(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_connections=3).start()
    token = server.post_note("held")["id"]
    port = server.settings.port
    with ExitStack() as stack:
        for _ in range(3):
            sock = stack.enter_context(connect(port))
            sock.sendall(websocket_upgrade(f"/ws/{token}"))
            assert status_of(read_response_head(sock)) == 101
        with connect(port) as extra:
            assert status_of(read_until_closed(extra)) == 503


def test_a_websocket_upgrade_with_a_path_over_8_KB_gets_414_and_is_closed(
    live: LiveServer,
) -> None:
    with connect(live.settings.port) as sock:
        sock.sendall(websocket_upgrade("/ws/" + "a" * 9000))
        response = read_until_closed(sock)
    assert status_of(response) == 414
    live.wait_for_log("websocket handshake: RequestLineTooLong")


def test_a_request_head_over_the_limit_gets_431_and_a_long_request_line_414(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(max_request_head_bytes=4096).start()
    with connect(server.settings.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.sendall(b"X-Filler: " + b"f" * 60_000 + b"\r\n\r\n")
        assert status_of(read_until_closed(sock)) == 431
    with connect(server.settings.port) as sock:
        sock.sendall(b"GET /" + b"p" * 60_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status_of(read_until_closed(sock)) == 414
    server.wait_for_log("with 431: its request head is over 4096 bytes")
    assert http.get(server.url + "/healthz").status_code == 200


def test_a_pipelined_head_over_the_limit_in_the_same_read_as_the_one_before_gets_431(
    live: LiveServer,
) -> None:
    first = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"f" * 1000) for i in range(120))
    second = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + filler + b"\r\n"  # 120 KB
    with connect(live.settings.port) as sock:
        sock.sendall(first + second)
        response = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 200")
    assert response.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 431" in response, response[-300:]
    live.wait_for_log(f"with 431: its request head is over {16 * 1024} bytes")


def test_a_request_with_both_content_length_and_transfer_encoding_gets_400_and_is_closed(
    make_live: Callable[..., LiveServer],
) -> None:
    # Timeouts far beyond the wait, so that only the refusal can close the connection.
    server = make_live(idle_connection_timeout_s=120, request_head_timeout_s=120).start()
    with connect(server.settings.port) as sock:
        sock.sendall(
            b"POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        )
        response = read_until_closed(sock, timeout_s=30)
    assert status_of(response) == 400
    assert b"both Content-Length and Transfer-Encoding" in response
    server.wait_for_log("with 400 and closed: its request has both Content-Length")


def test_sixteen_megabytes_of_headers_are_refused_at_the_default_limit(live: LiveServer) -> None:
    with connect(live.settings.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(256):  # 16 MB in 64 KB headers; the answer comes long before
                sock.sendall(b"X-Filler: " + b"f" * 65_536 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        assert status_of(read_until_closed(sock)) == 431


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
def test_a_peer_that_answers_no_ping_is_closed_with_1011_as_the_readme_says(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(keepalive_timeout_s=1.0).start()
    token = server.post_note("pinged")["id"]
    with connect(server.settings.port) as sock:
        sock.sendall(websocket_upgrade(f"/ws/{token}"))
        frames = read_until_closed(sock)  # read everything, answer nothing: no pong
    head, _, frames = frames.partition(b"\r\n\r\n")
    assert status_of(head) == 101
    assert close_frame(frames) == (1011, "keepalive ping timeout")
    row = next(line for line in README.splitlines() if line.startswith("| `1011` |"))
    assert "keepalive" in row


@pytest.mark.slow
async def test_a_websocket_outlives_the_request_head_timeout(
    make_live: Callable[..., LiveServer],
) -> None:
    """The HTTP connection's deadlines end once it becomes a websocket (it was closed with
    408 once the head timeout passed after the upgrade)."""
    server = make_live(request_head_timeout_s=0.5).start()
    token = server.post_note("still here")["id"]
    async with websockets.connect(f"{server.ws_url}/{token}") as ws:
        await ws.recv()  # the room's step 1
        for _ in range(3):  # well past the 0.5 s deadline, answered each time
            await asyncio.sleep(0.5)
            await ws.send(protocol.encode_query_awareness())
            assert (await asyncio.wait_for(ws.recv(), 5))[0] in (0, 1)
        assert ws.close_code is None
    assert "with 408" not in server.log()  # the refusal's log line (a port may hold "408")
