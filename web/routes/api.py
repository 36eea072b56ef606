"""The REST API: health, creating notes, reading and exporting them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from collab.document import initial_update, title_of
from collab.errors import CloseCode
from collab.peer import Role
from storage import notes
from web.deps import GrantsDep, NoteAccess, NoteDep, RoomsDep, SessionDep

router = APIRouter()

MAX_INITIAL_CONTENT_CHARS = 2_000_000


class NoteCreate(BaseModel):
    """The optional body of ``POST /api/notes``."""

    content: str = Field(
        default="",
        max_length=MAX_INITIAL_CONTENT_CHARS,
        description="Initial Markdown text of the note.",
    )


class NotePublic(BaseModel):
    """A note as the API shows it. ``id`` (the edit token) is absent for viewers."""

    id: str | None = None
    url: str | None = None
    view_id: str
    view_url: str
    role: str
    title: str
    content: str
    created_at: datetime
    updated_at: datetime


@router.get("/healthz")
def healthz(session: SessionDep) -> JSONResponse:
    """200 once the database answers, 503 otherwise."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as error:  # any failure to answer is "not healthy", said in the body
        return JSONResponse({"status": "unavailable", "detail": repr(error)[:200]}, 503)
    return JSONResponse({"status": "ok"})


@router.post("/api/notes", status_code=201, response_model=NotePublic)
async def create_note(session: SessionDep, body: NoteCreate | None = None) -> NotePublic:
    """Create a note; its ``id`` is the edit link's secret."""
    content = body.content if body else ""
    update = initial_update(content)
    note = await run_in_threadpool(notes.create_note, session=session, initial_update=update)
    assert note.id is not None
    return _public(NoteAccess(note, Role.EDITOR, note.edit_token), content)


@router.get("/api/notes/{token}", response_model=NotePublic, response_model_exclude_none=True)
async def read_note(access: NoteDep, rooms: RoomsDep) -> NotePublic:
    """A note's title and text; what a viewer sees never includes the edit token."""
    return _public(access, await rooms.read_text(access.note_id))


@router.get("/api/notes/{token}/export.md")
async def export_note(access: NoteDep, rooms: RoomsDep) -> Response:
    """The note as a Markdown file download, named after its title."""
    content = await rooms.read_text(access.note_id)
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

    which: Literal["edit", "view"] = Field(description="Which link to replace.")


@router.post("/api/notes/{token}/rotate", response_model=NotePublic)
async def rotate_link(
    access: NoteDep, body: Rotate, session: SessionDep, rooms: RoomsDep, grants: GrantsDep
) -> NotePublic:
    """Replace the edit or view link; connections opened with the old one are closed (4403)."""
    if access.role is not Role.EDITOR:
        raise HTTPException(status_code=403, detail="only the edit link can rotate links")
    note = session.merge(access.note)
    old = await run_in_threadpool(notes.rotate_token, session=session, note=note, which=body.which)
    grants.forget(old)
    rooms.disconnect(access.note_id, CloseCode.FORBIDDEN, "this link was replaced", admitted_by=old)
    content = await rooms.read_text(access.note_id)
    token = note.edit_token if body.which == "edit" else access.token
    return _public(NoteAccess(note, Role.EDITOR, token), content)


def _public(access: NoteAccess, content: str) -> NotePublic:
    note = access.note
    editor: dict[str, Any] = {}
    if access.role is Role.EDITOR:
        editor = {"id": note.edit_token, "url": f"/n/{note.edit_token}"}
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
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", title)
    stem = " ".join(stem.split())[:80] or "note"
    return f"{stem}.md"


def install_error_handlers(app: Any) -> None:
    """Give malformed requests a JSON answer that says what was wrong."""
    from fastapi.exceptions import RequestValidationError

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [_describe(problem) for problem in error.errors()]
        return JSONResponse({"detail": "invalid request", "problems": problems}, 422)

    app.add_exception_handler(RequestValidationError, invalid)


def _describe(problem: Any) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
    message = str(problem.get("msg", "invalid"))
    if problem.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    return f"{where}: {message}" if where else message
