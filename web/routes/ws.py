"""The websocket route: ``/ws/{token}`` speaks y-websocket to the token's note."""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from collab.errors import CloseCode
from web.channel import WebSocketChannel
from web.deps import NoteAccess, resolve

router = APIRouter()
logger = logging.getLogger("web.ws")


@router.websocket("/ws/{token}")
async def note_socket(websocket: WebSocket, token: str) -> None:
    """Join the note's room as an editor or a viewer, depending on the token."""
    access = await run_in_threadpool(_resolve, websocket, token)
    await websocket.accept()
    if access is None:
        logger.info("refused %s: unknown note", _client(websocket))
        # A close code needs an accepted socket; before accept Starlette can only say 403.
        await websocket.close(CloseCode.UNKNOWN_NOTE, "unknown note")
        return
    rooms = websocket.app.state.rooms
    await rooms.serve(access.note_id, WebSocketChannel(websocket), access.role, access.token)


def _resolve(websocket: WebSocket, token: str) -> NoteAccess | None:
    with Session(websocket.app.state.engine) as session:
        return resolve(session, token)


def _client(websocket: WebSocket) -> str:
    client = websocket.client
    return f"{client.host}:{client.port}" if client else "unknown"
