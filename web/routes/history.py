"""A note's history over REST: its versions, what each contained, naming and restoring.

Every route needs the edit link: deleted text is private to editors, so a view
link gets 403. A version's content is replayed from the nearest checkpoint at or
before it, off the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session

from collab.document import build, text
from collab.errors import PeerError
from collab.names import clean_name
from collab.persistence import ANONYMOUS
from storage import history
from storage.history import VersionSummary
from web.access import find
from web.deps import NoteDep, ServicesDep, require_editor
from web.jsonbody import read_json, read_optional_json, request_body
from web.routes.api import NotePublic, public_note
from web.state import Services

router = APIRouter(prefix="/api/notes/{token}/versions", tags=["history"])


class VersionPublic(BaseModel):
    """A version of a note as the history lists it."""

    id: str
    kind: str = Field(description="auto (a session of editing), named, or before-restore")
    name: str | None
    created_at: datetime
    authors: list[str] = Field(description="The names of those who edited in it")
    added: int = Field(description="Characters inserted in it")
    removed: int = Field(description="Characters deleted in it")


class VersionContent(VersionPublic):
    """A version and the note's Markdown as it stood then."""

    content: str


class VersionList(BaseModel):
    versions: list[VersionPublic]


class NameVersion(BaseModel):
    """The body of naming the current version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="What to call it")

    @field_validator("name")
    @classmethod
    def _cleaned(cls, name: str) -> str:
        cleaned = clean_name(name)  # BadName is a ValueError: 422 with its reason
        if not cleaned:
            raise ValueError("a name needs a visible character")
        return cleaned


class RestoreBody(BaseModel):
    """The optional body of a restore: who restores, for the history."""

    model_config = ConfigDict(extra="forbid")

    author: str | None = Field(default=None, max_length=100)

    @field_validator("author")
    @classmethod
    def _cleaned(cls, author: str | None) -> str | None:
        return None if author is None else clean_name(author) or None  # None: Anonymous


class Restored(BaseModel):
    note: NotePublic
    undo: VersionPublic = Field(description="The version from just before: restore it to undo")


@router.get("", response_model=VersionList)
async def list_versions(
    access: NoteDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: str | None = None,
) -> VersionList:
    """The note's versions, newest first; ``before`` pages on from a version's id."""
    require_editor(access, "see the history")
    anchor = None if before is None else _version_id(before)
    found = await run_in_threadpool(_list, services, access.note_id, limit, anchor)
    return VersionList(versions=[_public(version) for version in found])


@router.post(
    "",
    status_code=201,
    response_model=VersionPublic,
    openapi_extra=request_body(NameVersion, required=True),
)
async def name_version(access: NoteDep, request: Request, services: ServicesDep) -> VersionPublic:
    """Name the note's current state; named versions are kept for ever."""
    require_editor(access, "name versions")
    body = await read_json(request, NameVersion)
    mark = await services.rooms.mark_version(access.note_id, "named", body.name)
    return _public(await _summary(services, access.note_id, mark.id))


@router.get("/{version_id}", response_model=VersionContent)
async def read_version(access: NoteDep, version_id: str, services: ServicesDep) -> VersionContent:
    """A version, with the note's Markdown as it stood then."""
    require_editor(access, "see the history")
    version = await _summary(services, access.note_id, _version_id(version_id))
    content = await asyncio.to_thread(_content_at, services, access.note_id, version.position)
    return VersionContent(**_public(version).model_dump(), content=content)


@router.post(
    "/{version_id}/restore",
    response_model=Restored,
    openapi_extra=request_body(RestoreBody, required=False),
)
async def restore_version(
    access: NoteDep, version_id: str, request: Request, services: ServicesDep
) -> Restored:
    """Make the note's text that version's, as one edit everyone sees at once."""
    require_editor(access, "restore versions")
    body = await read_optional_json(request, RestoreBody)
    version = await _summary(services, access.note_id, _version_id(version_id))
    content = await asyncio.to_thread(_content_at, services, access.note_id, version.position)
    author = (body.author if body and body.author else None) or ANONYMOUS
    try:
        undo = await services.rooms.restore(access.note_id, content, author)
    except PeerError as error:  # the note cannot be opened now (limits, shutdown, storage)
        raise HTTPException(503, detail=error.reason) from error
    current = await run_in_threadpool(find, services.engine, access.token)
    if current is None:
        raise HTTPException(404, detail="no note has this link")
    return Restored(
        note=public_note(current, await services.rooms.read_text(access.note_id)),
        undo=_public(await _summary(services, access.note_id, undo.id)),
    )


MAX_VERSION_ID = 2**31 - 1
"""Version ids are SQL INTEGERs: PostgreSQL's hold at most this, and refused a larger one
with an error (500), as ``int()`` did digits that are not ASCII ('²')."""


def _version_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_VERSION_ID:
        raise HTTPException(404, detail="this note has no such version")
    return int(raw)


async def _summary(services: Services, note_id: int, version_id: int) -> VersionSummary:
    found = await run_in_threadpool(_get, services, note_id, version_id)
    if found is None:
        raise HTTPException(404, detail="this note has no such version")
    return found


def _list(services: Services, note_id: int, limit: int, before: int | None) -> list[VersionSummary]:
    with Session(services.engine) as session:
        return history.list_versions(session=session, note_id=note_id, limit=limit, before=before)


def _get(services: Services, note_id: int, version_id: int) -> VersionSummary | None:
    with Session(services.engine) as session:
        return history.get_version(session=session, note_id=note_id, version_id=version_id)


def _content_at(services: Services, note_id: int, position: int) -> str:
    return text(build(services.store.load_sync(note_id, upto=position).updates))


def _public(version: VersionSummary) -> VersionPublic:
    created = version.created_at
    return VersionPublic(
        id=str(version.id),
        kind=version.kind,
        name=version.name,
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        authors=list(version.authors),
        added=version.added,
        removed=version.removed,
    )
