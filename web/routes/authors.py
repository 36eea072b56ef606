"""Who wrote what: the runs of a note's Yjs items with their author, over REST.

Any link of the note may ask: the runs cover the note's current text (and
clocks of text deleted since, which no page shows). The browser maps each item
of its ``Y.Text`` (client id, clock) to a run, and colours the text by author
(``web/frontend/src/authors.js``). Names are self-declared, as in presence.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from storage.attribution import Attribution, RestoredText, Run, attribution
from web.deps import NoteDep, ServicesDep

router = APIRouter(prefix="/api/notes/{token}/authors", tags=["authors"])


class RestoredPublic(BaseModel):
    """The version a restore brought back (the run is the restore's own text)."""

    kind: str
    name: str | None
    created_at: datetime


class RunPublic(BaseModel):
    """Clocks ``start`` to ``end`` (excluded) of Yjs client ``client``, and who typed them."""

    client: int
    start: int
    end: int
    author: str | None = Field(
        description="The name its sender's presence gave; null for history kept before names"
    )
    first_at: datetime
    last_at: datetime
    restored: RestoredPublic | None = Field(
        default=None, description="Set when the run is a restore's text: the version it restored"
    )


class AuthorsPublic(BaseModel):
    """A note's runs, as its log stands at ``position``."""

    position: int = Field(description="The log position the runs go up to")
    runs: list[RunPublic]


@router.get("", response_model=AuthorsPublic)
async def read_authors(access: NoteDep, services: ServicesDep) -> AuthorsPublic:
    """Who typed each run of the note's Yjs items, and when (any link of the note)."""
    found = await run_in_threadpool(attribution, services.engine, access.note_id)
    return _public(found)


def _public(found: Attribution) -> AuthorsPublic:
    restores = {restore.position: restore for restore in found.restores}
    return AuthorsPublic(
        position=found.position,
        runs=[_run(run, restores.get(run.position)) for run in found.runs],
    )


def _run(run: Run, restore: RestoredText | None) -> RunPublic:
    restored = (
        None
        if restore is None or restore.author != run.author
        else RestoredPublic(kind=restore.kind, name=restore.name, created_at=restore.created_at)
    )
    return RunPublic(
        client=run.client,
        start=run.start,
        end=run.end,
        author=run.author,
        first_at=run.first_at,
        last_at=run.last_at,
        restored=restored,
    )
