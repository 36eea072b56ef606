"""Search in a space: ``GET /api/spaces/{token}/search``.

The space's link is the capability: its edit link searches its notes and names
each hit by the note's edit token; its view link by the note's view token, and it
never reaches text a version removed (that is history, which needs an edit link).
The search itself is the home page's (``storage.search``, the database's own index).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select

from collab.peer import Role
from storage import search
from storage.models import Note
from web.access import SpaceAccess
from web.deps import Services, ServicesDep
from web.routes.search import MAX_QUERY_CHARS, SearchResults, result_of
from web.routes.spaces import space_of

router = APIRouter(tags=["search"])


@router.get("/api/spaces/{token}/search", response_model=SearchResults)
async def search_space(
    token: str,
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    deleted: Annotated[bool, Query(description="Also text versions removed (edit link)")] = False,
    limit: Annotated[int, Query(ge=1, le=50, description="Results of each kind")] = 20,
) -> SearchResults:
    """The space's notes whose text matches ``q``, best first; with ``deleted`` (the
    space's edit link only: 403 for its view link), then text their versions removed,
    each with a version that still has it, who removed it and when."""
    access = await space_of(
        services, token, needs_editor="search text that was deleted" if deleted else None
    )
    return await run_in_threadpool(_search, services, access, q, deleted, limit)


def _search(
    services: Services, access: SpaceAccess, query: str, deleted: bool, limit: int
) -> SearchResults:
    editor = access.role is Role.EDITOR
    with Session(services.engine) as session:
        notes = search.Space(access.space_id)
        hits = search.search(session, note_ids=notes, query=query, deleted=deleted, limit=limit)
        found = {hit.note_id for hit in hits}
        tokens = {
            note: edit if editor else view
            for note, edit, view in session.exec(
                select(Note.id, Note.edit_token, Note.view_token).where(col(Note.id).in_(found))
            )
        }
    held = {note: (token, access.role) for note, token in tokens.items()}
    return SearchResults(results=[result_of(hit, held[hit.note_id]) for hit in hits])
