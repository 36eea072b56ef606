"""A space's notes as Markdown files: import a ``.zip`` of them, export them as one.

Each note's files go with it as a note's own ``.zip`` has them (``web.note_archive``):
its links point at ``files/<id>-<name>`` entries, and an import makes the entries a
note's relative links point at its files, checked as uploads are.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import Session

from collab.document import initial_update
from storage import files, notes, spaces, summaries
from web import archive, note_archive
from web.deps import Services, ServicesDep
from web.routes.api import limit_creations
from web.routes.note_archive import ZIP_BODY, Refused, accepted_files, add_files, files_named
from web.routes.spaces import space_of

router = APIRouter()


class Imported(BaseModel):
    """A file that became a note: its name in the archive, the note's edit token, title."""

    file: str
    id: str
    title: str


class ImportResult(BaseModel):
    """What an import did, file by file."""

    imported: list[Imported]
    refused: list[Refused]


@router.post(
    "/api/spaces/{token}/import",
    status_code=201,
    response_model=ImportResult,
    openapi_extra=ZIP_BODY,
)
async def import_archive(token: str, request: Request, services: ServicesDep) -> ImportResult:
    """Make a note of each Markdown file of a ``.zip`` (the request body), in one
    transaction, with the files its relative links point at (checked as uploads are,
    each note's within ``--max-note-files-bytes``); the answer says, file by file,
    which note it became or why not.

    At most ``web.archive.MAX_FILES`` files of ``MAX_FILE_CHARS`` characters, inflating
    to ``MAX_TOTAL_BYTES`` in all; the body is also bounded by ``--max-request-body-bytes``.
    """
    access = await space_of(services, token, needs_editor="import notes into it")
    data = await request.body()
    if not data:
        raise HTTPException(422, detail="the request body should be a .zip of Markdown files")
    try:
        unpacked = await run_in_threadpool(archive.read_markdown, data)
        linked, accepted, refused = await run_in_threadpool(_linked, services, data, unpacked.files)
    except archive.ArchiveRefused as error:
        raise HTTPException(422, detail=str(error)) from None
    limit_creations(request, services)
    skipped = [(f, r) for f, r in unpacked.refused if f not in linked]  # a note's file: no note
    made = await run_in_threadpool(
        _create_all, services, access.space_id, unpacked.files, accepted, refused
    )
    return ImportResult(
        imported=[Imported(file=f, id=t, title=title) for f, t, title in made],
        refused=[Refused(file=f, reason=r) for f, r in [*skipped, *refused]],
    )


Accepted = dict[str, tuple[str, bytes, str]]
"""A file the archive brings: its path -> (name, bytes as stored, type)."""


def _linked(
    services: Services, data: bytes, texts: list[tuple[str, str]]
) -> tuple[set[str], Accepted, list[tuple[str, str]]]:
    """The entries the notes' relative links point at, those of them that pass an
    upload's checks, and those refused, why."""
    wanted: set[str] = set()
    for name, text in texts:
        wanted |= note_archive.linked_paths(text, posixpath.dirname(name))
    found, refused = note_archive.read_linked(data, wanted, services.settings.max_file_bytes)
    return wanted, accepted_files(services, found, refused), refused


def _create_all(
    services: Services,
    space_id: int,
    texts: list[tuple[str, str]],
    accepted: Accepted,
    refused: list[tuple[str, str]],
) -> list[tuple[str, str, str]]:
    """The notes, in one transaction; then each one's files, each committed with its row."""
    made, their_files = [], []
    with Session(services.engine, expire_on_commit=False) as session:
        for name, text in texts:
            text, mine = _own_files(services, name, text, accepted, refused)
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
            their_files.append((note, mine))
        session.commit()
        for note, mine in their_files:
            assert note.id is not None
            add_files(session, note.id, mine)
    return made


def _own_files(
    services: Services,
    name: str,
    text: str,
    accepted: Accepted,
    refused: list[tuple[str, str]],
) -> tuple[str, list[tuple[str, bytes, str]]]:
    """The note's text with its links to accepted files made ``attachment:<id>``, and
    those files; past ``--max-note-files-bytes`` none, each refused, its link as it was."""
    folder = posixpath.dirname(name)
    paths = sorted(note_archive.linked_paths(text, folder) & accepted.keys())
    limit = services.settings.max_note_files_bytes
    if limit and sum(len(accepted[path][1]) for path in paths) > limit:
        reason = f"refused: the files of {name} would take more than {limit} bytes"
        refused += [(path, reason) for path in paths]
        return text, []
    ids = {path: files.file_id(accepted[path][1]) for path in paths}
    return note_archive.relink(text, folder, ids.get), [accepted[path] for path in paths]


@router.get("/api/spaces/{token}/export.zip")
async def export_archive(token: str, services: ServicesDep) -> Response:
    """Every note of the space as ``<title>.md`` in a ``.zip`` (either link), with the
    files each names in ``files/``, its links pointing at them."""
    access = await space_of(services, token)
    ids = await run_in_threadpool(_note_ids, services, access.space_id)
    notes_out = []
    for note in ids:
        text = await services.rooms.read_text(note)
        named = await run_in_threadpool(files_named, services, note, text)
        notes_out.append((summaries.summarise(text).title, text, named))
    body = await run_in_threadpool(note_archive.export_many, notes_out)
    name = f"{archive.file_stem(access.space.name)}.zip"
    disposition = f'attachment; filename="{name.encode("ascii", "replace").decode()}"; '
    disposition += f"filename*=UTF-8''{quote(name)}"
    return Response(
        body, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


def _note_ids(services: Services, space_id: int) -> list[int]:
    with Session(services.engine) as session:
        return spaces.note_ids(session=session, space_id=space_id)
