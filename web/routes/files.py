"""A note's files: upload one with the edit link, read them with either of its links.

``POST /api/notes/{edit token}/files`` takes a multipart body with one ``file``
field; ``GET /api/notes/{token}/files/{id}`` serves a file of that note. The
file's type is sniffed from its bytes (``web.filetypes``); raster images are
checked and lose their location (``web.images``); the bytes are stored once
(``storage.files``) and committed before the 201. A note's text refers to a file
as ``attachment:<id>``, never by an address with a token in it: each page turns
that into an address with its own token, so a view page carries view links only.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TypeVar
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from storage import files
from storage.files import NoteFull, StoredFile
from web import filetypes, images
from web.access import MAX_TOKEN_CHARS, NoteAccess, find
from web.address_limit import retry_after
from web.deps import Services, ServicesDep, require_editor
from web.filetypes import RASTER
from web.request_checks import MULTIPART_SLACK_BYTES

router = APIRouter()
T = TypeVar("T")

CACHE_CONTROL = "private, max-age=31536000, immutable"
"""A file's bytes never change under its id; private: only its link's holders may see it."""

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}

NO_SUCH_FILE = "this note has no such file"

NOT_ACCEPTED = (
    "this kind of file is not accepted; the server takes PNG, JPEG, GIF, WebP and AVIF "
    "images, PDF, SVG, ZIP (and Office) documents and plain text"
)


class Uploaded(BaseModel):
    """A stored file, and the Markdown that shows it in the note."""

    id: str
    type: str
    size: int
    name: str
    markdown: str


@router.post("/api/notes/{token}/files", status_code=201, response_model=Uploaded)
async def upload(token: str, request: Request, services: ServicesDep) -> Uploaded:
    """Store a file in the note (multipart field ``file``), committed before the answer.

    403 for a view link; 413 over ``--max-file-bytes`` or ``--max-note-files-bytes``;
    415 for a type not accepted; 422 for a damaged image or one over the size limits;
    429 past ``--max-uploads-per-minute``.
    """
    access = await run_in_threadpool(find, services.engine, token)
    if access is None:
        raise HTTPException(404, detail="no note has this link")
    require_editor(access, "upload files")
    _limit_uploads(request, services)
    name, data = await _read_file(request, services.settings.max_file_bytes)
    media_type = filetypes.sniff(data)
    if media_type is None:
        raise HTTPException(415, detail=NOT_ACCEPTED)
    if media_type in RASTER:
        data = await run_in_threadpool(_checked_image, services, data, media_type)
    name = filetypes.clean_name(name, media_type)
    stored = await run_in_threadpool(_store, services, access, data, media_type, name)
    markdown = filetypes.markdown(stored.name, stored.id, stored.media_type)
    return Uploaded(
        id=stored.id, type=stored.media_type, size=stored.size, name=stored.name, markdown=markdown
    )


def _limit_uploads(request: Request, services: Services) -> None:
    address = request.client.host if request.client else "unknown"
    wait_s = services.uploads.take(address)
    if wait_s:
        raise HTTPException(
            429,
            detail="too many uploads from your address; try again later",
            headers={"Retry-After": retry_after(wait_s)},
        )


async def _read_file(request: Request, max_file_bytes: int) -> tuple[str, bytes]:
    """The name and bytes of the body's ``file`` field; 413 past the limit, 422 without one."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(422, detail="send the file as multipart/form-data, in a field 'file'")
    too_large = HTTPException(413, detail=f"the file is larger than {max_file_bytes} bytes")
    limit = max_file_bytes + MULTIPART_SLACK_BYTES

    async def bounded() -> AsyncGenerator[bytes, None]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise HTTPException(422, detail=f"the multipart body is malformed: {error}") from None
    try:
        given = form.get("file")
        if not isinstance(given, UploadFile):
            raise HTTPException(422, detail="the body has no file in a field 'file'")
        data = await given.read()
    finally:
        await form.close()
    if len(data) > max_file_bytes:
        raise too_large
    if not data:
        raise HTTPException(422, detail="the file is empty")
    return given.filename or "", data


def _checked_image(services: Services, data: bytes, media_type: str) -> bytes:
    settings = services.settings
    limits = images.ImageLimits(
        settings.max_image_pixels, settings.max_image_side_px, settings.keep_image_location
    )
    try:
        return images.checked(data, media_type, limits)
    except images.ImageRefused as error:
        raise HTTPException(422, detail=str(error)) from None


def _store(
    services: Services, access: NoteAccess, data: bytes, media_type: str, name: str
) -> StoredFile:
    """Add the file to the note; once more after a race (another upload gave the note the
    same file meanwhile, or a purge collected the blob this one found); 404 if the note
    itself was purged meanwhile."""
    try:
        try:
            return _add(services, access, data, media_type, name)
        except IntegrityError:
            return _add(services, access, data, media_type, name)
    except NoteFull as full:
        detail = f"the note's files would take more than {full.limit} bytes"
        raise HTTPException(413, detail=f"{detail} ({full.stored} used)") from None
    except IntegrityError:
        raise HTTPException(404, detail="no note has this link") from None


def _add(
    services: Services, access: NoteAccess, data: bytes, media_type: str, name: str
) -> StoredFile:
    with Session(services.engine) as session:
        return files.add_file(
            session=session,
            note_id=access.note_id,
            data=data,
            media_type=media_type,
            name=name,
            max_note_bytes=services.settings.max_note_files_bytes,
        )


@router.get("/api/notes/{token}/files/{file_id}")
async def read_file(token: str, file_id: str, request: Request, services: ServicesDep) -> Response:
    """A file of the note, for either of its links: 304 when the client has it, 206 for a
    ``Range``; raster images inline, everything else as a download. 404 for a link that
    opens no live note (replaced, deleted) and for a file the note has not."""
    headers = {"ETag": f'"{file_id}"', "Cache-Control": CACHE_CONTROL, **SAFE_HEADERS}
    if _has_it(request.headers.get("if-none-match"), file_id):
        if await run_in_threadpool(_lookup, services, files.held_by_token, token, file_id) is None:
            raise HTTPException(404, detail=NO_SUCH_FILE)
        return Response(status_code=304, headers=headers)
    read = await run_in_threadpool(_lookup, services, files.read_by_token, token, file_id)
    if read is None:
        raise HTTPException(404, detail=NO_SUCH_FILE)
    found, data = read
    headers["Content-Disposition"] = _disposition(found)
    headers["Accept-Ranges"] = "bytes"
    media_type = found.media_type
    if media_type == "text/plain":
        media_type += "; charset=utf-8"
    wanted = _range(request.headers.get("range"), len(data))
    if wanted is None:
        return Response(data, media_type=media_type, headers=headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return Response(data[start : end + 1], 206, headers=headers, media_type=media_type)


def _lookup(
    services: Services, find_file: Callable[[Connection, str, str], T | None], token: str, file: str
) -> T | None:
    """What ``find_file`` finds of the file of the note one of whose links is ``token``."""
    if len(file) != 64 or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    with services.engine.connect() as connection:
        return find_file(connection, token, file)


def _has_it(if_none_match: str | None, file_id: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or f'"{file_id}"' in tags


def _disposition(found: StoredFile) -> str:
    kind = "inline" if found.media_type in RASTER else "attachment"
    ascii_name = found.name.encode("ascii", "replace").decode().replace('"', "")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.name)}"


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, as (first, last), or None for the whole file (no
    ``Range``, one in another unit, or several ranges); 416 for one past the end."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, dash, last = header.removeprefix("bytes=").strip().partition("-")
    if not dash or not (first or last) or not (first + last).isdigit():
        return None
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        unsatisfiable = {"Content-Range": f"bytes */{size}"}
        raise HTTPException(416, detail="the range is past the file's end", headers=unsatisfiable)
    return start, end
