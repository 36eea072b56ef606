"""A note's history over REST: its versions, what each contained, naming, restoring, undoing.

Every route needs the edit link: deleted text is private to editors, so a view
link gets 403. A version's content is replayed from the nearest checkpoint at or
before it, off the event loop.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session

from collab import restoring
from collab.document import build, text
from collab.errors import PeerError
from collab.names import clean_name
from collab.persistence import ANONYMOUS
from storage import history
from storage.history import RestoreSummary, VersionSummary
from web.access import find
from web.deps import NoteDep, Services, ServicesDep, require_editor
from web.jsonbody import read_json, read_optional_json, request_body
from web.routes.api import NotePublic, public_note

router = APIRouter(prefix="/api/notes/{token}/versions", tags=["history"])


class RestorePublic(BaseModel):
    """The restore that followed a before-restore version."""

    by: str = Field(description="Who restored")
    version_id: str = Field(description="The version restored (it may have been thinned since)")
    version_kind: str
    version_name: str | None
    version_created_at: datetime
    undone_by: str | None = Field(description="Who undid the restore, if anyone did")
    undone_at: datetime | None


class VersionPublic(BaseModel):
    """A version of a note as the history lists it."""

    id: str
    kind: str = Field(description="auto (a session of editing), named, or before-restore")
    name: str | None
    created_at: datetime
    authors: list[str] = Field(description="The names of those who edited in it")
    added: int = Field(description="Characters inserted in it")
    removed: int = Field(description="Characters deleted in it")
    restore: RestorePublic | None = Field(
        default=None, description="A before-restore version: the restore that followed it"
    )


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
    undo: VersionPublic = Field(description="The version from just before: undo the restore there")


class UndoneNote(NotePublic):
    """The note after Undo restore, and whether words written inside the restored text stayed."""

    kept_inside: bool = Field(
        description="Someone wrote inside the restored text since the restore: their words stay"
    )


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
        done = await services.rooms.in_room(
            access.note_id, lambda room: restoring.restore(room, content, author)
        )
    except PeerError as error:  # the note cannot be opened now (limits, shutdown, storage)
        raise HTTPException(503, detail=error.reason) from error
    if done.position is not None:  # it changed the text: it can be undone
        await run_in_threadpool(_record, services, done, author, version)
    before = _public(await _summary(services, access.note_id, done.before.id))
    notice = {"kind": "restored", "by": author, "version": _public(version), "undo": before}
    _notify(services, access.note_id, notice)
    return Restored(note=await _note(services, access.token, access.note_id), undo=before)


@router.post(
    "/{version_id}/undo",
    response_model=UndoneNote,
    openapi_extra=request_body(RestoreBody, required=False),
)
async def undo_restore(
    access: NoteDep, version_id: str, request: Request, services: ServicesDep
) -> UndoneNote:
    """Undo the restore that followed before-restore version ``version_id``: its change alone.

    Whatever anyone wrote since the restore stays, inside the restored text too.
    """
    require_editor(access, "undo restores")
    body = await read_optional_json(request, RestoreBody)
    version = await _summary(services, access.note_id, _version_id(version_id))
    done = _undoable(version)
    author = (body.author if body and body.author else None) or ANONYMOUS
    if not await run_in_threadpool(_claim, services, version.id, author):
        raise HTTPException(409, detail="this restore was undone already")
    try:
        before, after = await asyncio.to_thread(_around, services, access.note_id, done.position)
        undone = await services.rooms.in_room(
            access.note_id, lambda room: restoring.undo(room, before, after, author)
        )
    except BaseException as error:
        await run_in_threadpool(_release, services, version.id)
        if isinstance(error, PeerError):
            raise HTTPException(503, detail=error.reason) from error
        raise
    notice = {"kind": "undone", "by": author, "undo": _public(version), **undone._asdict()}
    _notify(services, access.note_id, notice)
    note = await _note(services, access.token, access.note_id)
    return UndoneNote(**note.model_dump(), kept_inside=undone.kept_inside)


def _undoable(version: VersionSummary) -> RestoreSummary:
    """The restore after ``version``, if it can be undone; 409 saying why not otherwise."""
    if version.kind != "before-restore":
        raise HTTPException(
            409,
            detail=f"version {version.id} is a {version.kind} version, not a before-restore "
            "one: only a restore can be undone",
        )
    if version.restore is None:
        raise HTTPException(
            409, detail="no restore of this server's records followed this version: restore it"
        )
    if version.restore.undone_at is not None:
        raise HTTPException(
            409, detail=f"this restore was undone already, by {version.restore.undone_by}"
        )
    return version.restore


async def _note(services: Services, token: str, note_id: int) -> NotePublic:
    current = await run_in_threadpool(find, services.engine, token)
    if current is None:
        raise HTTPException(404, detail="no note has this link")
    return public_note(current, await services.rooms.read_text(note_id))


def _notify(services: Services, note_id: int, notice: dict[str, object]) -> None:
    """Tell the note's open room's peers that asked for notices (none if it is not open)."""
    room = services.rooms.rooms.get(note_id)
    if room is not None:
        room.notify(_json(notice))


def _json(notice: dict[str, object]) -> str:
    return json.dumps(notice, default=lambda value: value.model_dump(mode="json"))


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


def _record(
    services: Services, done: restoring.Restored, author: str, restored: VersionSummary
) -> None:
    assert done.position is not None
    with Session(services.engine) as session:
        history.record_restore(
            session=session,
            before=done.before.id,
            position=done.position,
            author=author,
            restored=restored,
        )


def _claim(services: Services, version_id: int, author: str) -> bool:
    with Session(services.engine) as session:
        return history.claim_undo(session=session, before=version_id, author=author)


def _release(services: Services, version_id: int) -> None:
    with Session(services.engine) as session:
        history.release_undo(session=session, before=version_id)


def _around(services: Services, note_id: int, position: int) -> tuple[list[bytes], list[bytes]]:
    """The note's updates just before log row ``position``, and just after it."""
    load = services.store.load_sync
    before, after = load(note_id, upto=position - 1), load(note_id, upto=position)
    return list(before.updates), list(after.updates)


def _content_at(services: Services, note_id: int, position: int) -> str:
    return text(build(services.store.load_sync(note_id, upto=position).updates))


def _public(version: VersionSummary) -> VersionPublic:
    done = version.restore
    restore = None
    if done is not None:
        restore = RestorePublic(
            by=done.author,
            version_id=str(done.restored_id),
            version_kind=done.restored_kind,
            version_name=done.restored_name,
            version_created_at=_utc(done.restored_at),
            undone_by=done.undone_by,
            undone_at=None if done.undone_at is None else _utc(done.undone_at),
        )
    return VersionPublic(
        id=str(version.id),
        kind=version.kind,
        name=version.name,
        created_at=_utc(version.created_at),
        authors=list(version.authors),
        added=version.added,
        removed=version.removed,
        restore=restore,
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
