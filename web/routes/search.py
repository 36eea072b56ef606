"""Searching the notes a browser holds: ``POST /api/search``.

The browser sends the tokens it holds in the body (never in a URL, where logs
and proxies keep them): at most ``MAX_TOKENS`` notes' and ``MAX_SPACES`` spaces'.
Each result names its note by the token the caller sent for it, or, for a note
reached through a space, by the note's token of the space link's role, so a view
token's results never carry an edit token. Text a version removed ("deleted": true)
is searched only in the notes the caller holds an edit token of (its own or its
space's): like the history it comes from, it is
for editors (a view link gets 403 on the history routes), and its ``version``
opens with ``GET /api/notes/{edit token}/versions/{version}``.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from collab.peer import Role
from storage import notes, search, spaces
from storage.search import Hit
from web.deps import Services, ServicesDep
from web.jsonbody import read_json, request_body

router = APIRouter(tags=["search"])

MAX_TOKENS = 500
MAX_SPACES = 100
"""As many spaces as the browser remembers (web/frontend/src/spaces.js)."""
MAX_QUERY_CHARS = 200


class SearchBody(BaseModel):
    """What to search for, and in which notes."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="Words and quoted phrases")
    tokens: list[str] = Field(
        max_length=MAX_TOKENS,
        description=f"Tokens (edit or view) of the notes to search, at most {MAX_TOKENS}",
    )
    spaces: list[str] = Field(
        default=[],
        max_length=MAX_SPACES,
        description=f"Tokens (edit or view) of spaces whose notes to search, at most {MAX_SPACES}",
    )
    deleted: bool = Field(
        default=False, description="Also search text removed from notes held with an edit token"
    )
    limit: int = Field(default=20, ge=1, le=50, description="Results of each kind")


class SearchResult(BaseModel):
    """A note that matches, or text removed from one."""

    id: str = Field(description="The token the caller sent for this note")
    role: str = Field(description="editor, commenter or viewer: what that token grants")
    title: str
    title_highlights: list[tuple[int, int]]
    snippet: str = Field(description="Plain text around the first match (never HTML)")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) of each match in snippet, in UTF-16 code units"
    )
    deleted: bool = Field(description="true: words the note no longer has")
    version: str | None = Field(
        default=None, description="deleted: a version that still has the words"
    )
    removed_by: str | None = None
    removed_at: datetime | None = None
    space: str | None = Field(
        default=None, description="The name of the space the note was reached through, if any"
    )


class SearchResults(BaseModel):
    results: list[SearchResult]


MAX_BODY_BYTES = 64 * 1024
"""A query and 500 tokens of 24 characters, with room for escapes."""


@router.post(
    "/api/search",
    response_model=SearchResults,
    openapi_extra=request_body(SearchBody, required=True),
)
async def search_notes(request: Request, services: ServicesDep) -> SearchResults:
    """Search the notes whose tokens are sent: current text first, then deleted text."""
    body = await read_json(
        request, SearchBody, MAX_BODY_BYTES, max_strings=MAX_TOKENS + MAX_SPACES + 16, lists=True
    )
    return await run_in_threadpool(_search, services, body)


def _search(services: Services, body: SearchBody) -> SearchResults:
    with Session(services.engine) as session:
        held = _held(session, body.tokens) if body.tokens else {}
        through = _through_spaces(session, body.spaces, held)
        hits = search.search_current(session, note_ids=list(held), query=body.q, limit=body.limit)
        if body.deleted:
            editable = [note for note, (_, role) in held.items() if role is Role.EDITOR]
            hits += search.search_removed(
                session, note_ids=editable, query=body.q, limit=body.limit
            )
    results = [result_of(hit, held[hit.note_id]) for hit in hits]
    for hit, result in zip(hits, results, strict=True):
        result.space = through.get(hit.note_id)
    return SearchResults(results=results)


def _through_spaces(
    session: Session, tokens: list[str], held: dict[int, tuple[str, Role]]
) -> dict[int, str]:
    """Add the notes of the spaces ``tokens`` open to ``held``: by their edit token through
    a space's edit link, else by their view token unless a token of theirs was sent (a
    note is named by the most any link grants). The names of the spaces they were in."""
    through: dict[int, str] = {}
    for note, edit, view, name, editor in spaces.notes_reached(session=session, tokens=tokens):
        if editor and (note not in held or held[note][1] is not Role.EDITOR):
            held[note] = (edit, Role.EDITOR)
        elif note not in held:
            held[note] = (view, Role.VIEWER)
        through[note] = name
    return through


def _held(session: Session, tokens: list[str]) -> dict[int, tuple[str, Role]]:
    """Each note the tokens reach: the token to name it by (the most it grants of those
    sent), and the role it grants."""
    sent = set(tokens)
    held: dict[int, tuple[str, Role]] = {}
    for note, edit, view, comment in notes.find_by_tokens(session=session, tokens=sorted(sent)):
        if edit in sent:
            held[note] = (edit, Role.EDITOR)
        else:
            held[note] = (comment, Role.COMMENTER) if comment in sent else (view, Role.VIEWER)
    return held


def result_of(hit: Hit, held: tuple[str, Role]) -> SearchResult:
    """A hit as the API answers it, named by ``held``: (the token to name it by, its role)."""
    token, role = held
    editor = role is Role.EDITOR
    return SearchResult(
        id=token,
        role=role.value,
        title=hit.title,
        title_highlights=list(hit.title_highlights),
        snippet=hit.snippet.text,
        highlights=list(hit.snippet.highlights),
        deleted=hit.deleted,
        version=str(hit.version) if hit.deleted and editor else None,
        removed_by=hit.removed_by,
        removed_at=hit.removed_at,
    )
