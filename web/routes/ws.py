"""The websocket route: ``/ws/{token}`` speaks y-websocket to the token's note.

Before a peer reaches its room, the edge checks what only the edge can see: the
page's Origin, how many connections its address holds, and the token.

It is not a FastAPI route: :class:`web.app.NotesApp` hands a websocket whose path
is :data:`PATH` straight to :func:`note_socket`, ahead of the middleware stack and
the router, which a join does not need (none of the middleware acts on a
websocket) and which took a quarter of a join storm's event loop
(bench/README.md, "Spikes of issue 30").
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import DBAPIError
from starlette.websockets import WebSocket

from collab.errors import CloseCode
from web.access import Grant, find
from web.deps import Services
from web.logs import first_line, is_database_error
from web.saving import database_reason
from web.settings import Settings
from web.websocket_channel import WebSocketChannel

logger = logging.getLogger("web.ws")

PATH = re.compile(r"/ws/([^/]+)")
"""The websocket's path; the group is the token (what Starlette's ``{token}`` matches)."""

LOAD_FAILED_REASON = "this note could not be loaded; the server's log says why"
"""The close reason (with 1011) when a note's stored content cannot be read or built."""


def token_in(path: str) -> str | None:
    """The token of a websocket's path, or None if the path is not :data:`PATH`."""
    match = PATH.fullmatch(path)
    return match.group(1) if match else None


async def note_socket(websocket: WebSocket, token: str, services: Services) -> None:
    """Join the note's room as an editor or a viewer, depending on the token."""
    # A close code needs an accepted socket; before accept Starlette can only say 403.
    await websocket.accept()
    code: int = CloseCode.INTERNAL_ERROR  # if serving raises, uvicorn closes with 1011
    try:
        code = await _serve(websocket, token, services)
    finally:
        services.metrics.connection_closed(code)


async def _serve(websocket: WebSocket, token: str, services: Services) -> int:
    """Refuse the connection or serve it in its room; return the code it ended with."""
    refusal = origin_refusal(websocket, services.settings)
    if refusal is not None:
        # 4403, not 1008: y-websocket retries 1xxx codes forever, and gives up on 44xx.
        return await _refuse(websocket, CloseCode.FORBIDDEN, refusal)
    with _counted(websocket, services) as admitted:
        if not admitted:
            return await _refuse(
                websocket, CloseCode.TOO_MANY_REQUESTS, "too many connections from your address"
            )
        try:
            grant = await _grant(services, token)
        except Exception as error:
            if not is_database_error(error, services.engine):
                raise
            return await _database_failed(websocket, "looking up its link", error)
        if grant is None:
            return await _refuse(websocket, CloseCode.UNKNOWN_NOTE, "unknown note")
        return await _serve_in_room(websocket, token, grant, services)


async def _serve_in_room(websocket: WebSocket, token: str, grant: Grant, services: Services) -> int:
    """Serve an admitted connection in its note's room; return the code it ended with."""
    channel = WebSocketChannel(websocket)
    try:
        await services.rooms.serve(
            grant.note_id,
            channel,
            grant.role,
            admitted_by=token,
            # Still cached means not replaced nor deleted since it was looked up.
            still_admitted=lambda: services.grants.get(token) == grant,
        )
    except BaseException as error:  # a yrs panic while building the note is a BaseException
        if isinstance(error, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            raise
        if is_database_error(error, services.engine):  # away or locked: not the note
            return await _database_failed(websocket, f"loading note={grant.note_id}", error)
        # Its load failed (damaged pages, a stored update that does not build).
        # Without a close frame the socket dropped (1006) and the client never
        # learned why; 1011 with a reason is what the README promises.
        logger.exception(
            "note=%s could not be opened for %s",
            grant.note_id,
            channel.label,
            extra={"note": grant.note_id, "peer": channel.label},
        )
        await channel.close(CloseCode.INTERNAL_ERROR, LOAD_FAILED_REASON)
    return channel.close_code


async def _database_failed(websocket: WebSocket, doing: str, error: BaseException) -> int:
    """Close with 1011 and why, logged in one line: during an outage every reconnect
    meets it, and 8da4d82 dropped each socket (1006) and logged a whole traceback."""
    assert isinstance(error, Exception)
    reason = database_reason(error)
    client = _client(websocket)
    logger.warning(
        "closed %s with 1011 while %s: %s (%s)",
        client,
        doing,
        reason,
        first_line(error.orig if isinstance(error, DBAPIError) else error),
        extra={"peer": client, "code": int(CloseCode.INTERNAL_ERROR), "reason": reason},
    )
    await websocket.close(CloseCode.INTERNAL_ERROR, f"{reason}; try again shortly"[:120])
    return CloseCode.INTERNAL_ERROR


def origin_refusal(websocket: WebSocket, settings: Settings) -> str | None:
    """Why the page's Origin may not open a websocket here, or None if it may."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return None if settings.allow_missing_origin else "an Origin header is required"
    allowed = {o.strip().rstrip("/") for o in settings.allowed_origins.split(",") if o.strip()}
    if "*" in allowed or origin.rstrip("/") in allowed:
        return None
    if not allowed and urlsplit(origin).netloc == websocket.headers.get("host"):
        return None
    return f"origin {origin[:60]} is not allowed"


@contextmanager
def _counted(websocket: WebSocket, services: Services) -> Iterator[bool]:
    connections = services.connections
    address = websocket.client.host if websocket.client else "unknown"
    limit = services.settings.max_connections_per_address
    if limit and connections[address] >= limit:
        yield False
        return
    connections[address] += 1
    try:
        yield True
    finally:
        connections[address] -= 1
        if not connections[address]:
            del connections[address]


async def _refuse(websocket: WebSocket, code: CloseCode, reason: str) -> int:
    client = _client(websocket)
    logger.warning(
        "refused %s with %d: %s",
        client,
        code,
        reason,
        extra={"peer": client, "code": int(code), "reason": reason},
    )
    await websocket.close(code, reason)
    return code


async def _grant(services: Services, token: str) -> Grant | None:
    """The note and role a token grants; cached, as fifty tabs may open one note at once."""
    grants = services.grants
    grant = grants.get(token)
    if grant is None:
        generation = grants.generation
        found = await run_in_threadpool(find, services.engine, token)
        if found is None:
            return None
        grant = grants.put(token, Grant(found.note_id, found.role), looked_up_at=generation)
    return grant


def _client(websocket: WebSocket) -> str:
    client = websocket.client
    return f"{client.host}:{client.port}" if client else "unknown"
