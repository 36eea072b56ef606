"""Dependency aliases for the routes: the one way a route reaches the running server."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from collab.manager import RoomManager
from collab.peer import Role
from web import access
from web.access import NoteAccess
from web.settings import Settings
from web.state import Services


def get_services(connection: HTTPConnection) -> Services:
    """The lifespan's :class:`Services` (for requests and websockets alike)."""
    services = getattr(connection.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the app's lifespan has not started: serve it with create_app()")
    return services


def get_rooms(services: Annotated[Services, Depends(get_services)]) -> RoomManager:
    return services.rooms


def get_settings(services: Annotated[Services, Depends(get_services)]) -> Settings:
    return services.settings


async def get_note_access(
    token: str, services: Annotated[Services, Depends(get_services)]
) -> NoteAccess:
    """The note of the ``{token}`` in the path, or 404."""
    found = await run_in_threadpool(access.find, services.engine, token)
    if found is None:
        raise HTTPException(status_code=404, detail="no note has this link")
    return found


def require_editor(note: NoteAccess, what: str) -> None:
    """Refuse a view link (403): ``what`` needs the edit link."""
    if note.role is not Role.EDITOR:
        raise HTTPException(status_code=403, detail=f"only the edit link can {what}")


ServicesDep = Annotated[Services, Depends(get_services)]
RoomsDep = Annotated[RoomManager, Depends(get_rooms)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NoteDep = Annotated[NoteAccess, Depends(get_note_access)]
