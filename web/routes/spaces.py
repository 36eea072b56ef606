"""The REST API of spaces: making one, its list of notes, new notes in it, its links.

A space's edit link makes its holder an editor of every note in it, its view
link a viewer (``web.access.SpaceAccess``): the list hands each note's token of
the caller's role, so a viewer's answer never holds an edit token.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from collab.document import initial_update
from collab.errors import CloseCode
from collab.names import BadName, clean_name
from collab.peer import Role
from storage import files, notes, spaces
from storage.models import Note, Space, utcnow
from web.access import DELETED_REASON, NoteAccess, SpaceAccess, find, find_space
from web.deps import Services, ServicesDep
from web.housekeeping import retention
from web.jsonbody import read_json, request_body
from web.routes.api import MAX_INITIAL_CONTENT_CHARS, NotePublic, limit_creations, public_note

router = APIRouter()

MAX_PAGE = 200
MAX_SPACE_NAME_CHARS = 200


class SpaceCreate(BaseModel):
    """The body of ``POST /api/spaces``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="The space's name.")


class SpacePublic(BaseModel):
    """A space as the API shows it; ``id`` (the edit token) is absent for viewers."""

    id: str | None = None
    url: str | None = None
    view_id: str
    view_url: str
    name: str
    role: str


class ListedNote(BaseModel):
    """A note in a space's list. ``id`` is its token of the caller's role."""

    id: str
    url: str
    title: str
    excerpt: str = Field(description="The first words after the title.")
    tags: list[str]
    updated_at: datetime
    updated_by: str | None = Field(description="Who made the last edit, if known.")
    template: bool


class TagCount(BaseModel):
    """A tag of the space's notes, and how many have it."""

    tag: str
    count: int


class SpaceListing(BaseModel):
    """A page of a space's notes; ``next`` is the ``after`` of the next page (null: last)."""

    name: str
    role: str
    view_id: str = Field(description="The space's view token, current: what Share hands out.")
    notes: list[ListedNote]
    tags: list[TagCount]
    next: str | None


class SpaceNoteCreate(BaseModel):
    """The body of ``POST /api/spaces/{token}/notes``."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(default="", max_length=MAX_INITIAL_CONTENT_CHARS)
    template: str | None = Field(
        default=None, max_length=64, description="A note of the space to start from."
    )


class SpaceRotate(BaseModel):
    """The body of ``POST /api/spaces/{token}/rotate``."""

    model_config = ConfigDict(extra="forbid")

    which: Literal["edit", "view"] = Field(description="Which link to replace.")


async def space_of(
    services: Services, token: str, *, needs_editor: str | None = None, deleted: bool = False
) -> SpaceAccess:
    """The space of ``token``: 404 for none, 403 for a view link when ``needs_editor``
    (what it needs the edit link for)."""
    found = await run_in_threadpool(find_space, services.engine, token, include_deleted=deleted)
    if found is None:
        raise HTTPException(status_code=404, detail="no space has this link")
    if needs_editor and found.role is not Role.EDITOR:
        raise HTTPException(
            status_code=403, detail=f"only the space's edit link can {needs_editor}"
        )
    return found


def public_space(access: SpaceAccess) -> SpacePublic:
    """A space as the API shows it to the bearer of ``access``'s token."""
    space = access.space
    editor = {}
    if access.role is Role.EDITOR:
        editor = {"id": space.edit_token, "url": f"/s/{space.edit_token}"}
    return SpacePublic(
        **editor,
        view_id=space.view_token,
        view_url=f"/s/{space.view_token}",
        name=space.name,
        role=access.role.value,
    )


@router.post(
    "/api/spaces",
    status_code=201,
    response_model=SpacePublic,
    openapi_extra=request_body(SpaceCreate, required=True),
)
async def create_space(request: Request, services: ServicesDep) -> SpacePublic:
    """Make a space; its ``id`` is the edit link's secret. Counts as a new note for the
    address's ``--max-notes-created-per-minute``, before its body is read."""
    limit_creations(request, services)
    body = await read_json(request, SpaceCreate)
    try:
        name = clean_name(body.name, MAX_SPACE_NAME_CHARS)
    except BadName as error:
        raise HTTPException(422, detail=f"name: {error}") from None
    if not name:
        raise HTTPException(422, detail="name: a space needs a name that is not blank")
    space = await run_in_threadpool(_create_space, services, name)
    return public_space(SpaceAccess(space, Role.EDITOR, space.edit_token))


def _create_space(services: Services, name: str) -> Space:
    with Session(services.engine, expire_on_commit=False) as session:
        return spaces.create_space(session=session, name=name)


@router.get("/api/spaces/{token}", response_model=SpaceListing)
async def list_space(
    token: str,
    request: Request,
    services: ServicesDep,
    sort: Literal["edited", "title"] = "edited",
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    after: str | None = Query(None, max_length=600),
    tag: str | None = Query(None, max_length=100),
) -> Response:
    """A page of the space's notes, last edited first (or ``sort=title``), ``limit`` at a
    time; ``after`` is the previous page's ``next``; ``tag`` keeps the notes with that tag.

    The answer has an ETag: with ``If-None-Match`` and nothing changed, 304 and no body
    (what the space page polls with).
    """
    try:  # one trip to a worker thread for the link and the page
        listing = await run_in_threadpool(_listing, services, token, sort, limit, after, tag)
    except spaces.BadCursor as error:
        raise HTTPException(422, detail=str(error)) from None
    if listing is None:
        raise HTTPException(status_code=404, detail="no space has this link")
    body = listing.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _listing(
    services: Services,
    token: str,
    sort: spaces.Sort,
    limit: int,
    after: str | None,
    tag: str | None,
) -> SpaceListing | None:
    access = find_space(services.engine, token)
    if access is None:
        return None
    editor = access.role is Role.EDITOR
    with Session(services.engine) as session:
        page = spaces.list_notes(
            session=session,
            space_id=access.space_id,
            editor=editor,
            sort=sort,
            limit=limit,
            after=after,
            tag=tag,
        )
        tags = spaces.tag_counts(session=session, space_id=access.space_id)
    return SpaceListing(
        name=access.space.name,
        role=access.role.value,
        view_id=access.space.view_token,
        notes=[_listed(note) for note in page.notes],
        tags=[TagCount(tag=t, count=n) for t, n in tags],
        next=page.next,
    )


def _listed(note: spaces.Listed) -> ListedNote:
    return ListedNote(
        id=note.token,
        url=f"/n/{note.token}",
        title=note.title,
        excerpt=note.excerpt,
        tags=note.tags,
        updated_at=note.updated_at,
        updated_by=note.updated_by,
        template=note.template,
    )


@router.post(
    "/api/spaces/{token}/notes",
    status_code=201,
    response_model=NotePublic,
    openapi_extra=request_body(SpaceNoteCreate, required=False),
)
async def create_in_space(token: str, request: Request, services: ServicesDep) -> NotePublic:
    """A new note in the space, answered as ``POST /api/notes`` answers; with ``template``
    (a note of the space, by either link) it starts as that note's text."""
    access = await space_of(services, token, needs_editor="make notes in it")
    limit = services.settings.max_request_body_bytes or MAX_INITIAL_CONTENT_CHARS * 6
    body = await read_json(request, SpaceNoteCreate, limit)
    content, template = body.content, None
    if body.template is not None:
        if content:
            raise HTTPException(422, detail="give either content or a template, not both")
        template, content = await template_text(services, access, body.template)
    limit_creations(request, services)
    note = await run_in_threadpool(create_note, services, access.space_id, content, template)
    return public_note(NoteAccess(note, Role.EDITOR, note.edit_token), content)


async def template_text(services: Services, access: SpaceAccess, token: str) -> tuple[int, str]:
    """The id and text of the space's note ``token``; 422 if no note of the space has it."""
    found = await run_in_threadpool(find, services.engine, token)
    if found is None or found.note.space_id != access.space_id:
        raise HTTPException(422, detail="template: no note of this space has this link")
    return found.note_id, await services.rooms.read_text(found.note_id)


def create_note(
    services: Services, space_id: int | None, content: str, source: int | None = None
) -> Note:
    """A new note in the space ``space_id`` (None: in none), summarised for its list; made
    from the note ``source`` (a template, a duplicate), it has the files of ``source``
    that its text names."""
    added = len(content.encode("utf-16-le")) // 2  # characters, as Yjs counts them
    with Session(services.engine, expire_on_commit=False) as session:
        note = notes.create_note(
            session=session,
            initial_update=initial_update(content),
            added=added,
            space_id=space_id,
            text=content,
            commit=source is None,
        )
        if source is not None:
            assert note.id is not None
            files.share_files(session.connection(), source, note.id, content)
            session.commit()
        return note


@router.post(
    "/api/spaces/{token}/rotate",
    response_model=SpacePublic,
    openapi_extra=request_body(SpaceRotate, required=True),
)
async def rotate_space_link(token: str, request: Request, services: ServicesDep) -> SpacePublic:
    """Replace the space's edit or view link; the old one opens nothing from now on.

    The notes keep their own links: a list read with the old link handed them out.
    """
    access = await space_of(services, token, needs_editor="replace its links")
    body = await read_json(request, SpaceRotate)
    space = access.space
    old = space.edit_token if body.which == "edit" else space.view_token
    new = await run_in_threadpool(_replace, services, access, body.which, old)
    current = None if new is None else await run_in_threadpool(find_space, services.engine, new)
    if current is None:
        raise HTTPException(409, detail="this link was just replaced by someone else; reload")
    if body.which == "view":
        current = SpaceAccess(current.space, Role.EDITOR, token)
    return public_space(current)


def _replace(
    services: Services, access: SpaceAccess, which: Literal["edit", "view"], old: str
) -> str | None:
    with Session(services.engine) as session:
        return spaces.replace_space_token(
            session=session, space_id=access.space_id, which=which, edit_token=access.token, old=old
        )


@router.delete("/api/spaces/{token}", status_code=204)
async def delete_space(token: str, services: ServicesDep) -> Response:
    """Delete the space and its notes: their links stop working, their sockets close (4404).

    ``POST /api/spaces/{token}/undelete`` brings them back for
    ``--deleted-note-retention-days``.
    """
    access = await space_of(services, token, needs_editor="delete it", deleted=True)
    deleted = await run_in_threadpool(_delete, services, access)
    if deleted is None:
        raise HTTPException(status_code=404, detail="no space has this link")
    for note in deleted:
        services.grants.forget_note(note)
        services.rooms.disconnect(note, CloseCode.UNKNOWN_NOTE, DELETED_REASON)
        services.rooms.fanout.access_changed(note)
    return Response(status_code=204)


def _delete(services: Services, access: SpaceAccess) -> list[int] | None:
    with Session(services.engine) as session:
        return spaces.delete_space(
            session=session, space_id=access.space_id, edit_token=access.token
        )


@router.post("/api/spaces/{token}/undelete", response_model=SpacePublic)
async def undelete_space(token: str, services: ServicesDep) -> SpacePublic:
    """Bring a deleted space back with the notes deleted with it, within its window."""
    access = await space_of(services, token, needs_editor="restore it", deleted=True)
    days = services.settings.deleted_note_retention_days
    if not await run_in_threadpool(_restore, services, access, utcnow() - retention(days)):
        raise HTTPException(status_code=404, detail="this space was deleted for good")
    return public_space(access)


def _restore(services: Services, access: SpaceAccess, deleted_after: datetime) -> bool:
    with Session(services.engine) as session:
        return spaces.restore_space(
            session=session,
            space_id=access.space_id,
            edit_token=access.token,
            deleted_after=deleted_after,
        )
