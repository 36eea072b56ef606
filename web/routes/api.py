"""The REST API: health, creating notes, reading and exporting them."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlmodel import Session

from collab.document import initial_update, title_of
from collab.errors import CloseCode
from collab.peer import Role
from storage import notes
from storage.models import Note, utcnow
from storage.notes import LinkKind
from web import saving
from web.access import DELETED_REASON, REPLACED_REASON, NoteAccess, find
from web.address_limit import retry_after
from web.commented_export import CommentStyle, export_with_comments
from web.deps import NoteDep, RoomsDep, Services, ServicesDep, require_editor
from web.housekeeping import retention
from web.jsonbody import read_json, request_body

router = APIRouter()

MAX_INITIAL_CONTENT_CHARS = 2_000_000


class NoteCreate(BaseModel):
    """The optional body of ``POST /api/notes``."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        default="",
        max_length=MAX_INITIAL_CONTENT_CHARS,
        description="Initial Markdown text of the note.",
    )


class NotePublic(BaseModel):
    """A note as the API shows it. ``id`` (the edit token) is absent for viewers and
    commenters, ``comment_id`` (the comment token) for viewers."""

    id: str | None = None
    url: str | None = None
    view_id: str
    view_url: str
    comment_id: str | None = None
    comment_url: str | None = None
    role: str
    title: str
    content: str
    created_at: datetime
    updated_at: datetime


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    """200 while the server can read and save notes; 503 with the reason otherwise."""
    problem = saving.trouble(services)
    if problem is None:
        try:
            await run_in_threadpool(_ping, services)
        except Exception as error:  # any failure to answer is "not healthy", said in the body
            problem = f"the database does not answer: {error!r}"[:200]
    if problem is not None:
        return JSONResponse({"status": "unavailable", "detail": problem}, 503)
    return JSONResponse({"status": "ok"})


def _ping(services: Services) -> None:
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@router.post(
    "/api/notes",
    status_code=201,
    response_model=NotePublic,
    openapi_extra=request_body(NoteCreate, required=False),
)
async def create_note(request: Request, services: ServicesDep) -> NotePublic:
    """Create a note; its ``id`` is the edit link's secret.

    Each client address may create ``--max-notes-created-per-minute``; past that, 429.
    Every request counts, before its body is read: a refused body costs a creation.
    The body is JSON (``Content-Type: application/json``), and may be empty.
    """
    limit_creations(request, services)
    limit = services.settings.max_request_body_bytes or MAX_INITIAL_CONTENT_CHARS * 6
    content = (await read_json(request, NoteCreate, limit)).content
    added = len(content.encode("utf-16-le")) // 2  # characters, as Yjs counts them
    note = await run_in_threadpool(_create, services, initial_update(content), added)
    assert note.id is not None
    return public_note(NoteAccess(note, Role.EDITOR, note.edit_token), content)


def limit_creations(request: Request, services: Services) -> None:
    """Count a new note (or space) against its address's
    ``--max-notes-created-per-minute``; 429 past it."""
    address = request.client.host if request.client else "unknown"
    wait_s = services.note_creations.take(address)
    if wait_s:
        services.notices.warning(
            "note rate",
            f"refused {address} a new note with 429: over --max-notes-created-per-minute "
            f"{services.settings.max_notes_created_per_minute}",
        )
        raise HTTPException(
            429,
            detail="too many new notes from your address; try again later",
            headers={"Retry-After": retry_after(wait_s)},
        )


def _create(services: Services, update: bytes | None, added: int) -> Note:
    with Session(services.engine, expire_on_commit=False) as session:
        return notes.create_note(session=session, initial_update=update, added=added)


@router.get("/api/notes/{token}", response_model=NotePublic, response_model_exclude_none=True)
async def read_note(access: NoteDep, rooms: RoomsDep) -> NotePublic:
    """A note's title and text; what a viewer sees never includes the edit token."""
    return public_note(access, await rooms.read_text(access.note_id))


@router.get("/api/notes/{token}/export.md")
async def export_note(
    access: NoteDep,
    services: ServicesDep,
    comments: Annotated[
        CommentStyle | None,
        Query(description="Include the comments: as footnotes, or as CriticMarkup (critic)."),
    ] = None,
) -> Response:
    """The note as a Markdown file download, named after its title.

    Without ``comments`` its comments are left out; with it, any link that reads
    them (every link of the note) gets them too (see web/commented_export.py).
    """
    if comments is None:
        content = await services.rooms.read_text(access.note_id)
    else:
        content = await export_with_comments(services, access.note_id, comments)
    filename = _filename(title_of(content))
    disposition = f'attachment; filename="{filename.encode("ascii", "replace").decode()}"; '
    disposition += f"filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


class Rotate(BaseModel):
    """The body of ``POST /api/notes/{token}/rotate``."""

    model_config = ConfigDict(extra="forbid")

    which: LinkKind = Field(description="Which link to replace.")


@router.post(
    "/api/notes/{token}/rotate",
    response_model=NotePublic,
    openapi_extra=request_body(Rotate, required=True),
)
async def rotate_link(access: NoteDep, request: Request, services: ServicesDep) -> NotePublic:
    """Replace the edit, view or comment link; connections opened with the old one are
    closed (4403).

    Concurrent changes of one note's links and deletion serialise in the
    database: a replacement that lost to another gets 409 instead of a link that
    is already dead, and one that lost to a deletion gets 404.
    """
    require_editor(access, "rotate links")
    body = await read_json(request, Rotate)
    old = getattr(access.note, f"{body.which}_token")
    note = await run_in_threadpool(_replace, services, access, body.which, old)
    if note is None:
        now = await run_in_threadpool(find, services.engine, access.token, include_deleted=True)
        if now is not None and now.note.deleted_at is not None:
            raise HTTPException(404, detail="no note has this link")
        raise HTTPException(409, detail="this link was just replaced by someone else; reload")
    services.grants.forget(old)
    services.rooms.disconnect(access.note_id, CloseCode.FORBIDDEN, REPLACED_REASON, admitted_by=old)
    services.rooms.fanout.access_changed(access.note_id)
    token = note.edit_token if body.which == "edit" else access.token
    content = await services.rooms.read_text(access.note_id)
    return public_note(NoteAccess(note, Role.EDITOR, token), content)


def _replace(services: Services, access: NoteAccess, which: LinkKind, old: str) -> Note | None:
    with Session(services.engine) as session:
        return notes.replace_token(
            session=session, note_id=access.note_id, which=which, edit_token=access.token, old=old
        )


async def _any_note(services: Services, token: str, what: str) -> NoteAccess:
    """The note an edit token opens, deleted or not; 404 for no note, 403 for a view token."""
    found = await run_in_threadpool(find, services.engine, token, include_deleted=True)
    if found is None:
        raise HTTPException(status_code=404, detail="no note has this link")
    require_editor(found, what)
    return found


@router.delete("/api/notes/{token}", status_code=204)
async def delete_note(token: str, services: ServicesDep) -> Response:
    """Delete a note: its links stop working and its connections close with 4404.

    It can be restored for ``--deleted-note-retention-days``, then it is purged.
    """
    access = await _any_note(services, token, "delete a note")
    note = await run_in_threadpool(_delete, services, access)
    if note is None:  # its edit link was replaced meanwhile
        raise HTTPException(status_code=404, detail="no note has this link")
    services.grants.forget(note.edit_token, note.view_token, note.comment_token)  # as deleted
    services.rooms.disconnect(access.note_id, CloseCode.UNKNOWN_NOTE, DELETED_REASON)
    services.rooms.fanout.access_changed(access.note_id)
    return Response(status_code=204)


@router.post("/api/notes/{token}/undelete", response_model=NotePublic)
async def undelete_note(token: str, services: ServicesDep) -> NotePublic:
    """Bring a deleted note back, within its window; a note that is not deleted is left as is."""
    access = await _any_note(services, token, "restore a note")
    note = await run_in_threadpool(_restore, services, access)
    if note is None:  # nothing changed: say how the note stands now
        current = await run_in_threadpool(find, services.engine, token, include_deleted=True)
        if current is None:
            raise HTTPException(status_code=404, detail="no note has this link")
        if current.note.deleted_at is not None:
            raise HTTPException(status_code=404, detail="this note was deleted for good")
        note = current.note
    content = await services.rooms.read_text(access.note_id)
    return public_note(NoteAccess(note, Role.EDITOR, token), content)


def _delete(services: Services, access: NoteAccess) -> Note | None:
    with Session(services.engine) as session:
        return notes.delete_note(session=session, note_id=access.note_id, edit_token=access.token)


def _restore(services: Services, access: NoteAccess) -> Note | None:
    days = services.settings.deleted_note_retention_days
    with Session(services.engine) as session:
        return notes.restore_note(
            session=session,
            note_id=access.note_id,
            edit_token=access.token,
            deleted_after=utcnow() - retention(days),
        )


def public_note(access: NoteAccess, content: str) -> NotePublic:
    """A note as the API shows it to the bearer of ``access``'s token."""
    note = access.note
    editor: dict[str, Any] = {}
    if access.role is Role.EDITOR:
        editor = {"id": note.edit_token, "url": f"/n/{note.edit_token}"}
    if access.role.may_comment:  # a viewer is never handed a link that comments
        editor |= {"comment_id": note.comment_token, "comment_url": f"/n/{note.comment_token}"}
    return NotePublic(
        **editor,
        view_id=note.view_token,
        view_url=f"/n/{note.view_token}",
        role=access.role.value,
        title=title_of(content),
        content=content,
        created_at=note.created_at,
        updated_at=note.updated_at,
    )


def _filename(title: str) -> str:
    """A file name for the title: no path or shell characters, and no control character.

    A DEL in the header made uvicorn refuse to write the response head, so the
    client saw the connection drop with no answer; a lone surrogate cannot be
    percent-encoded. C1 controls and line separators are dropped as well.
    """
    stem = "".join(" " if _unsafe_in_filename(char) else char for char in title)
    stem = " ".join(stem.split())[:80] or "note"
    return f"{stem}.md"


def _unsafe_in_filename(char: str) -> bool:
    # Cc: C0, DEL and C1 controls; Cs: lone surrogates; Zl, Zp: line and paragraph breaks.
    return char in '\\/:*?"<>|' or unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"}


def install_error_handlers(app: Any) -> None:
    """Give malformed requests a JSON answer that says what was wrong."""

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [_describe(problem) for problem in error.errors()]
        return JSONResponse({"detail": "invalid request", "problems": problems}, 422)

    app.add_exception_handler(RequestValidationError, invalid)


def _describe(problem: Any) -> str:
    loc = tuple(problem.get("loc", ()))
    if loc[:1] == ("body",):  # where FastAPI puts the request body; a field may be "body" too
        loc = loc[1:]
    where = ".".join(str(part) for part in loc)
    message = str(problem.get("msg", "invalid"))
    if problem.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    return f"{where}: {message}" if where else message
