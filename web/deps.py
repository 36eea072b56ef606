"""Dependency aliases for the routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from collab.manager import RoomManager
from collab.peer import Role
from storage import notes
from storage.models import Note
from web.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_rooms(request: Request) -> RoomManager:
    rooms: RoomManager = request.app.state.rooms
    return rooms


def get_grants(request: Request) -> GrantCache:
    grants: GrantCache = request.app.state.grants
    return grants


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@dataclass(frozen=True)
class NoteAccess:
    """A note, and the role the token used to reach it grants."""

    note: Note
    role: Role
    token: str

    @property
    def note_id(self) -> int:
        assert self.note.id is not None
        return self.note.id


@dataclass(frozen=True)
class Grant:
    """What a token lets a websocket do: which note, in which role."""

    note_id: int
    role: Role


class GrantCache:
    """Tokens already resolved, so a burst of connections does not query each one.

    Safe because one process serves a database: rotating a link goes through
    this process, which forgets the old token (:meth:`forget`) as it commits.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._grants: dict[str, Grant] = {}
        self._max = max_entries

    def get(self, token: str) -> Grant | None:
        return self._grants.get(token)

    def put(self, token: str, grant: Grant) -> Grant:
        if len(self._grants) >= self._max:
            self._grants.clear()  # simple and bounded; a miss costs one query
        self._grants[token] = grant
        return grant

    def forget(self, token: str) -> None:
        self._grants.pop(token, None)


def resolve(session: Session, token: str) -> NoteAccess | None:
    """Look a token up: the one place a link becomes a permission."""
    found = notes.resolve_token(session=session, token=token)
    if found is None:
        return None
    note, role = found
    return NoteAccess(note, Role(role), token)


def get_note_access(token: str, session: Annotated[Session, Depends(get_session)]) -> NoteAccess:
    access = resolve(session, token)
    if access is None:
        raise HTTPException(status_code=404, detail="no note has this link")
    return access


SessionDep = Annotated[Session, Depends(get_session)]
RoomsDep = Annotated[RoomManager, Depends(get_rooms)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NoteDep = Annotated[NoteAccess, Depends(get_note_access)]
GrantsDep = Annotated["GrantCache", Depends(get_grants)]
