"""A note with its files as one ``.zip``: export it (either link), import one as a new note.

The archive's format and how it is read are in ``web.note_archive``; the files go
through the checks an upload gets (``web.filetypes``, ``web.images``) and are stored
as uploads are (``storage.files``).
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import Session

from collab.document import initial_update, title_of
from storage import files, notes
from storage.models import Note
from web import archive, filetypes, images, note_archive
from web.deps import NoteDep, Services, ServicesDep
from web.filetypes import RASTER
from web.routes.api import limit_creations

router = APIRouter()

ZIP_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}

# An exported file's name in the archive: its id, then its name in the note.
_EXPORTED = re.compile(r"^[0-9a-f]{64}-(.+)$")


class Refused(BaseModel):
    """A file of an archive left out (a note's file, or a note of a space's), and why."""

    file: str
    reason: str


class NoteImported(BaseModel):
    """The note a ``.zip`` became, the ids of the files it brought, and what it left out."""

    id: str
    url: str
    view_id: str
    view_url: str
    title: str
    files: list[str]
    refused: list[Refused]


@router.get("/api/notes/{token}/export.zip")
async def export_zip(access: NoteDep, services: ServicesDep) -> Response:
    """The note as ``<title>.md`` with its files beside it in ``files/``, links made relative."""
    text = await services.rooms.read_text(access.note_id)
    title = title_of(text) or "Untitled note"
    named = await run_in_threadpool(files_named, services, access.note_id, text)
    body = await run_in_threadpool(note_archive.export, title, text, named)
    name = f"{archive.file_stem(title)}.zip"
    disposition = f'attachment; filename="{name.encode("ascii", "replace").decode()}"; '
    disposition += f"filename*=UTF-8''{quote(name)}"
    return Response(
        body, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


def files_named(services: Services, note_id: int, text: str) -> dict[str, tuple[str, bytes]]:
    """The note's files its text names: id -> (name, bytes)."""
    with services.engine.connect() as connection:
        return files.named_files(connection, note_id, set(note_archive.ATTACHMENT.findall(text)))


@router.post(
    "/api/notes/import", status_code=201, response_model=NoteImported, openapi_extra=ZIP_BODY
)
async def import_zip(request: Request, services: ServicesDep) -> NoteImported:
    """A new note from a ``.zip`` of one Markdown file and the files its relative links
    point at (an export, or a folder zipped); those links become the note's own files.

    The body is bounded by ``--max-request-body-bytes``, each file by ``--max-file-bytes``
    and all of them by ``--max-note-files-bytes`` (413); each file is checked as an
    upload is, and one refused is left out with its reason, its link as it was.
    """
    limit_creations(request, services)
    data = await request.body()
    if not data:
        raise HTTPException(422, detail="the request body should be a .zip of a Markdown file")
    settings = services.settings
    try:
        read = await run_in_threadpool(note_archive.read, data, settings.max_file_bytes)
    except archive.ArchiveRefused as error:
        raise HTTPException(422, detail=str(error)) from None
    accepted = await run_in_threadpool(_accepted, services, read)
    total = sum(len(content) for _name, content, _type in accepted.values())
    if settings.max_note_files_bytes and total > settings.max_note_files_bytes:
        limit = settings.max_note_files_bytes
        raise HTTPException(413, detail=f"the files would take more than {limit} bytes")
    ids = {path: files.file_id(content) for path, (_n, content, _t) in accepted.items()}
    text = note_archive.relink(read.text, posixpath.dirname(read.name), ids.get)
    note = await run_in_threadpool(_create, services, text, list(accepted.values()))
    return NoteImported(
        id=note.edit_token,
        url=f"/n/{note.edit_token}",
        view_id=note.view_token,
        view_url=f"/n/{note.view_token}",
        title=title_of(text),
        files=sorted(set(ids.values())),
        refused=[Refused(file=f, reason=r) for f, r in read.refused],
    )


def _accepted(services: Services, read: note_archive.Imported) -> dict[str, tuple[str, bytes, str]]:
    """The files that pass an upload's checks: path -> (name, bytes as stored, type);
    the others are added to ``read.refused``, with the reason."""
    return accepted_files(services, read.files, read.refused)


def accepted_files(
    services: Services, found: dict[str, bytes], refused: list[tuple[str, str]]
) -> dict[str, tuple[str, bytes, str]]:
    """Those of ``found`` (path -> bytes) that pass an upload's checks: path -> (name,
    bytes as stored, type); the others are added to ``refused``, with the reason."""
    settings = services.settings
    limits = images.ImageLimits(
        settings.max_image_pixels, settings.max_image_side_px, settings.keep_image_location
    )
    accepted = {}
    for path, content in found.items():
        media_type = filetypes.sniff(content)
        if media_type is None:
            refused.append((path, "refused: this kind of file is not accepted"))
            continue
        if media_type in RASTER:
            try:
                content = images.checked(content, media_type, limits)
            except images.ImageRefused as error:
                refused.append((path, f"refused: {error}"))
                continue
        base = posixpath.basename(path)
        exported = _EXPORTED.match(base)
        name = filetypes.clean_name(exported[1] if exported else base, media_type)
        accepted[path] = (name, content, media_type)
    return accepted


def add_files(session: Session, note_id: int, accepted: list[tuple[str, bytes, str]]) -> None:
    """Give a new note these files (name, bytes, type), each committed with its row."""
    for name, content, media_type in accepted:
        files.add_file(
            session=session,
            note_id=note_id,
            data=content,
            media_type=media_type,
            name=name,
            max_note_bytes=0,  # checked before, for all of them
        )


def _create(services: Services, text: str, accepted: list[tuple[str, bytes, str]]) -> Note:
    """The note, then its files, each committed with its row (a fresh note cannot be full)."""
    added = len(text.encode("utf-16-le")) // 2  # characters, as Yjs counts them
    with Session(services.engine, expire_on_commit=False) as session:
        note = notes.create_note(session=session, initial_update=initial_update(text), added=added)
        assert note.id is not None
        add_files(session, note.id, accepted)
    return note
