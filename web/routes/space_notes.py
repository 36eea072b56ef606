"""What a note's edit link does with spaces: move it, duplicate it, make it a template."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from collab.peer import Role
from storage import spaces
from web.access import NoteAccess
from web.deps import NoteDep, Services, ServicesDep, require_editor
from web.jsonbody import read_json, request_body
from web.routes.api import NotePublic, limit_creations, public_note
from web.routes.spaces import create_note, space_of

router = APIRouter()


class Move(BaseModel):
    """The body of ``POST /api/notes/{token}/move``."""

    model_config = ConfigDict(extra="forbid")

    space: str | None = Field(
        max_length=64, description="The edit link's token of the space to move into; null: none."
    )


class TemplateMark(BaseModel):
    """The body of ``POST /api/notes/{token}/template``."""

    model_config = ConfigDict(extra="forbid")

    template: bool


class TemplatePublic(BaseModel):
    """Whether the note is now one of its space's templates."""

    id: str
    template: bool


@router.post(
    "/api/notes/{token}/move",
    response_model=NotePublic,
    openapi_extra=request_body(Move, required=True),
)
async def move_note(access: NoteDep, request: Request, services: ServicesDep) -> NotePublic:
    """Move a note into a space (its edit link, and the space's edit link), or out of any.

    A space's edit link hands out its notes' edit links, so holding it is enough to
    move a note out of it.
    """
    require_editor(access, "move the note")
    body = await read_json(request, Move)
    target = None
    if body.space is not None:
        target = (await space_of(services, body.space, needs_editor="move notes into it")).space_id
    await run_in_threadpool(_put, services, access.note_id, target)
    if target is not None and services.summaries is not None:
        await services.summaries.now(access.note_id)  # a note from before spaces has none yet
    return public_note(access, await services.rooms.read_text(access.note_id))


def _put(services: Services, note: int, space: int | None) -> None:
    with Session(services.engine) as session:
        spaces.put_note(session=session, note_id=note, space_id=space)


@router.post("/api/notes/{token}/duplicate", status_code=201, response_model=NotePublic)
async def duplicate_note(access: NoteDep, request: Request, services: ServicesDep) -> NotePublic:
    """A new note with this one's text and the files it names, in the same space (its
    history starts afresh)."""
    require_editor(access, "duplicate the note")
    content = await services.rooms.read_text(access.note_id)
    limit_creations(request, services)
    note = await run_in_threadpool(
        create_note, services, access.note.space_id, content, access.note_id
    )
    return public_note(NoteAccess(note, Role.EDITOR, note.edit_token), content)


@router.post(
    "/api/notes/{token}/template",
    response_model=TemplatePublic,
    openapi_extra=request_body(TemplateMark, required=True),
)
async def mark_template(access: NoteDep, request: Request, services: ServicesDep) -> TemplatePublic:
    """Make the note one of its space's templates (new notes can start from it), or not."""
    require_editor(access, "make the note a template")
    body = await read_json(request, TemplateMark)
    if access.note.space_id is None:
        raise HTTPException(422, detail="the note is in no space: only a space has templates")
    await run_in_threadpool(_set_template, services, access.note_id, body.template)
    return TemplatePublic(id=access.token, template=body.template)


def _set_template(services: Services, note: int, template: bool) -> None:
    with Session(services.engine) as session:
        spaces.set_template(session=session, note_id=note, template=template)
