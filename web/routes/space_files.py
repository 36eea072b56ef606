"""A space's notes as Markdown files: import a ``.zip`` of them, export them as one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import Session

from collab.document import initial_update
from storage import notes, spaces, summaries
from web import archive
from web.deps import Services, ServicesDep
from web.routes.api import limit_creations
from web.routes.spaces import space_of

router = APIRouter()


class Imported(BaseModel):
    """A file that became a note: its name in the archive, the note's edit token, title."""

    file: str
    id: str
    title: str


class Refused(BaseModel):
    """A file of the archive that did not become a note, and why."""

    file: str
    reason: str


class ImportResult(BaseModel):
    """What an import did, file by file."""

    imported: list[Imported]
    refused: list[Refused]


ZIP_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/api/spaces/{token}/import",
    status_code=201,
    response_model=ImportResult,
    openapi_extra=ZIP_BODY,
)
async def import_archive(token: str, request: Request, services: ServicesDep) -> ImportResult:
    """Make a note of each Markdown file of a ``.zip`` (the request body), in one
    transaction; the answer says, file by file, which note it became or why not.

    At most ``web.archive.MAX_FILES`` files of ``MAX_FILE_CHARS`` characters, inflating
    to ``MAX_TOTAL_BYTES`` in all; the body is also bounded by ``--max-request-body-bytes``.
    """
    access = await space_of(services, token, needs_editor="import notes into it")
    data = await request.body()
    if not data:
        raise HTTPException(422, detail="the request body should be a .zip of Markdown files")
    try:
        unpacked = await run_in_threadpool(archive.read_markdown, data)
    except archive.ArchiveRefused as error:
        raise HTTPException(422, detail=str(error)) from None
    limit_creations(request, services)
    made = await run_in_threadpool(_create_all, services, access.space_id, unpacked.files)
    return ImportResult(
        imported=[Imported(file=f, id=t, title=title) for f, t, title in made],
        refused=[Refused(file=f, reason=r) for f, r in unpacked.refused],
    )


def _create_all(
    services: Services, space_id: int, files: list[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    made = []
    with Session(services.engine, expire_on_commit=False) as session:
        for name, text in files:
            added = len(text.encode("utf-16-le")) // 2
            note = notes.create_note(
                session=session,
                initial_update=initial_update(text),
                added=added,
                space_id=space_id,
                text=text,
                commit=False,
            )
            made.append((name, note.edit_token, summaries.summarise(text).title))
        session.commit()
    return made


@router.get("/api/spaces/{token}/export.zip")
async def export_archive(token: str, services: ServicesDep) -> Response:
    """Every note of the space as ``<title>.md`` in a ``.zip`` (either link)."""
    access = await space_of(services, token)
    ids = await run_in_threadpool(_note_ids, services, access.space_id)
    texts = [await services.rooms.read_text(note) for note in ids]
    files = [(summaries.summarise(text).title, text) for text in texts]
    body = await run_in_threadpool(archive.write_markdown, files)
    name = f"{archive.file_stem(access.space.name)}.zip"
    disposition = f'attachment; filename="{name.encode("ascii", "replace").decode()}"; '
    disposition += f"filename*=UTF-8''{quote(name)}"
    return Response(
        body, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


def _note_ids(services: Services, space_id: int) -> list[int]:
    with Session(services.engine) as session:
        return spaces.note_ids(session=session, space_id=space_id)
