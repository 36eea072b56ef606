"""Guards on the internals of other libraries that our code subclasses or reads.

The transports subclass uvicorn's protocols and read their attributes, and those of
the websockets and h11 connections under them; the command line subclasses
uvicorn's ``Server``; the store binds statements through SQLAlchemy's compiled form.
None of that is public API, so ``pyproject.toml`` caps each library below its next
minor release, and these tests name every attribute we rely on. An upgrade that
moves one fails here, in seconds, with the attribute, the library and the module of
ours that uses it, instead of as a hang in a websocket test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable
from typing import Any

import h11
import pytest
import uvicorn
import websockets.protocol
import websockets.server
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from storage.models import Note
from web.cli import Server
from web.http_transport import ConnectionLimits, http_protocol
from web.transport import DIRECT_RECEIVE, DIRECT_SEND, WebSocketProtocol

WS_METHODS = (
    "handle_connect",
    "send_receive_event_to_app",
    "connection_lost",
    "data_received",
    "run_asgi",
)
"""What web/transport.py's WebSocketProtocol overrides and calls through ``super()``."""

WS_ATTRIBUTES = (
    "loop",
    "conn",
    "queue",
    "frames",
    "curr_msg_data_type",
    "writable",
    "handshake_initiated",
    "handshake_complete",
    "close_sent",
    "transport",
    "client",
)
"""What it reads of a connected instance (web/transport.py)."""

WS_PER_MESSAGE = ("frames", "curr_msg_data_type")
"""...of which these exist once a message came (uvicorn 0.35 sets them per message)."""

HTTP_METHODS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_response_complete",
    "handle_websocket_upgrade",
    "send_400_response",
)
"""What web/http_transport.py's HttpProtocol overrides and calls through ``super()``."""

HTTP_ATTRIBUTES = ("loop", "app", "conn", "connections", "transport", "client")
"""What it reads of a connected instance (web/http_transport.py)."""

SERVER_MEMBERS = ("capture_signals", "on_tick", "shutdown", "should_exit", "_captured_signals")
"""What web/cli.py's Server overrides or reads of uvicorn's Server."""

WEBSOCKETS_CONNECTION = ("state", "extensions", "handshake_exc", "data_to_send")
"""What web/transport.py reads of websockets' sans-I/O ServerProtocol (uvicorn's ``conn``)."""

H11_CONNECTION = ("their_state", "our_state", "trailing_data")
"""What web/http_transport.py reads of h11's Connection (uvicorn's ``conn``)."""

COMPILED = ("binds", "positional", "positiontup")
"""What storage/sql.py reads of SQLAlchemy's compiled statements."""


def missing(obj: object, names: Iterable[str]) -> list[str]:
    return [name for name in names if not hasattr(obj, name)]


def require(owner: str, obj: object, names: Iterable[str], user: str, package: str) -> None:
    gone = missing(obj, names)
    assert not gone, (
        f"{owner} has no {', '.join(gone)} any more: {user} relies on it. The installed "
        f"{package} moved an internal we use: adapt {user}, or keep pyproject.toml's "
        f"ceiling on {package} below this release."
    )


def test_uvicorn_websocket_protocol_methods() -> None:
    require(
        "uvicorn's WebSocketsSansIOProtocol",
        WebSocketsSansIOProtocol,
        WS_METHODS,
        "web/transport.py (WebSocketProtocol)",
        "uvicorn",
    )


def test_uvicorn_h11_protocol_methods() -> None:
    require(
        "uvicorn's H11Protocol",
        H11Protocol,
        HTTP_METHODS,
        "web/http_transport.py (HttpProtocol)",
        "uvicorn",
    )


def test_uvicorn_server_members() -> None:
    server = uvicorn.Server(Config(app=_app, lifespan="off"))
    require("uvicorn's Server", server, SERVER_MEMBERS, "web/cli.py (Server)", "uvicorn")
    assert issubclass(Server, uvicorn.Server)


def test_websockets_server_connection() -> None:
    require(
        "websockets' ServerProtocol",
        websockets.server.ServerProtocol(),
        WEBSOCKETS_CONNECTION,
        "web/transport.py (send_now, _reject_handshake)",
        "websockets",
    )
    assert hasattr(websockets.protocol.State, "OPEN"), (
        "websockets.protocol.State.OPEN is gone: web/transport.py's send_now compares with it"
    )


def test_h11_connection() -> None:
    require(
        "h11's Connection",
        h11.Connection(h11.SERVER),
        H11_CONNECTION,
        "web/http_transport.py (_follow_state, send_400_response)",
        "h11",
    )
    require("h11", h11, ("IDLE", "SEND_BODY"), "web/http_transport.py (_follow_state)", "h11")


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=lambda d: d.name)
def test_sqlalchemy_compiled_statements(dialect: Any) -> None:
    note = Note.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table classes
    statements = [
        select(note.c.head).where(note.c.id == bindparam("note")),
        insert(note).values(edit_token=bindparam("edit"), view_token=bindparam("view")),
        update(note).where(note.c.id == bindparam("note")).values(head=bindparam("head")),
    ]
    for statement in statements:
        compiled = statement.compile(dialect=dialect)
        require(
            "SQLAlchemy's compiled statement",
            compiled,
            COMPILED,
            "storage/sql.py (Statement.compile)",
            "sqlalchemy",
        )
        for bind in compiled.binds.values():
            impl = bind.type.dialect_impl(dialect)
            require(
                "SQLAlchemy's type implementation",
                impl,
                ("bind_processor",),
                "storage/sql.py (Statement.compile)",
                "sqlalchemy",
            )


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.close", "code": 1000})


async def connected(protocol: Callable[..., Any]) -> tuple[Any, socket.socket]:
    """An instance built as uvicorn builds one, on a real (socketpair) transport."""
    config = Config(app=_app, lifespan="off")
    config.load()
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    instance = protocol(config=config, server_state=ServerState(), app_state={})
    await asyncio.get_running_loop().connect_accepted_socket(lambda: instance, ours)
    return instance, theirs


async def until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not condition():
        assert loop.time() < deadline, what
        await asyncio.sleep(0.005)


async def test_uvicorn_websocket_protocol_instance() -> None:
    protocol, theirs = await connected(WebSocketProtocol)
    client = ClientProtocol(parse_uri("ws://127.0.0.1/ws"))
    received: list[bytes] = []

    def frames_seen() -> bool:
        with contextlib.suppress(BlockingIOError):
            received.append(theirs.recv(65536))
        return bool(received)

    try:
        connected_only = [name for name in WS_ATTRIBUTES if name not in WS_PER_MESSAGE]
        require(
            "uvicorn's WebSocketsSansIOProtocol instance",
            protocol,
            connected_only,
            "web/transport.py (WebSocketProtocol)",
            "uvicorn",
        )
        # A real handshake: handle_connect must leave a scope whose extensions we extend.
        client.send_request(client.connect())
        theirs.sendall(b"".join(client.data_to_send()))
        await until(lambda: protocol.handshake_initiated, "uvicorn never called handle_connect")
        extensions = getattr(protocol, "scope", {}).get("extensions", {})
        assert DIRECT_SEND in extensions and DIRECT_RECEIVE in extensions, (
            "uvicorn's handle_connect no longer leaves a scope with extensions that "
            "web/transport.py's WebSocketProtocol.handle_connect can add to"
        )
        await until(frames_seen, "the app's accept never reached the client")
        client.receive_data(b"".join(received))
        # A binary message: what uvicorn keeps of it is what the direct receive takes.
        client.send_binary(b"\x00\x01")
        theirs.sendall(b"".join(client.data_to_send()))
        await until(lambda: protocol.close_sent, "the app never saw the message")
        require(
            "uvicorn's WebSocketsSansIOProtocol, after a message,",
            protocol,
            WS_PER_MESSAGE,
            "web/transport.py (WebSocketProtocol.send_receive_event_to_app)",
            "uvicorn",
        )
    finally:
        protocol.transport.abort()
        theirs.close()


async def test_uvicorn_h11_protocol_instance() -> None:
    limits = ConnectionLimits(
        max_connections=10,
        request_head_timeout_s=5.0,
        max_request_head_bytes=16_384,
        max_request_body_bytes=1_000_000,
    )
    protocol, theirs = await connected(http_protocol(limits))
    try:
        require(
            "uvicorn's H11Protocol instance",
            protocol,
            HTTP_ATTRIBUTES,
            "web/http_transport.py (HttpProtocol)",
            "uvicorn",
        )
    finally:
        protocol.transport.abort()
        theirs.close()
