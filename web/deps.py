"""How routes reach the running server: the :class:`Services` record the app's lifespan
builds, and the dependency aliases that hand its parts to a route."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from collab.manager import RoomManager
from collab.peer import Role
from storage.updates import SqlDocumentStore
from web import access
from web.access import GrantCache, NoteAccess
from web.address_limit import AddressRateLimit
from web.logs import ThrottledLog
from web.metrics import Metrics
from web.settings import Settings
from web.summary_keeper import SummaryKeeper


@dataclass
class Services:
    """The running server's parts: built by ``create_app``'s lifespan, in this order."""

    settings: Settings
    engine: Engine
    store: SqlDocumentStore
    rooms: RoomManager
    metrics: Metrics
    grants: GrantCache = field(default_factory=GrantCache)
    connections: Counter[str] = field(default_factory=Counter)  # open websockets by address
    fatal: str | None = None  # set when the server cannot go on (the writer stopped)
    note_creations: AddressRateLimit = field(init=False)
    uploads: AddressRateLimit = field(init=False)  # files uploaded, by address
    notices: ThrottledLog = field(default_factory=lambda: ThrottledLog(logging.getLogger("web")))
    summaries: SummaryKeeper | None = None  # keeps what the space lists show of each note

    def __post_init__(self) -> None:
        self.note_creations = AddressRateLimit(self.settings.max_notes_created_per_minute)
        self.uploads = AddressRateLimit(self.settings.max_uploads_per_minute)


def services_of(connection: HTTPConnection) -> Services:
    """The lifespan's :class:`Services` (for requests and websockets alike)."""
    services = getattr(connection.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the app's lifespan has not started: serve it with create_app()")
    return services


# The dependencies are coroutines: FastAPI runs a plain function in its thread pool,
# a hop per dependency per request (6.5 % of a join's samples, for get_services alone).


async def get_services(connection: HTTPConnection) -> Services:
    return services_of(connection)


async def get_rooms(services: Annotated[Services, Depends(get_services)]) -> RoomManager:
    return services.rooms


async def get_settings(services: Annotated[Services, Depends(get_services)]) -> Settings:
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
