"""Comments over REST: threads on ranges of a note's text, replies, resolving, deleting.

Any link of a note reads its threads; its edit and comment links comment, reply,
resolve and reopen (a view link gets 403); only the edit link deletes a thread.
The author of a comment may change or delete it with the key their browser sent
when writing it (only its SHA-256 is kept). Each change is committed before it
is answered and before anyone is told: then the note's peers that asked for
notices get it (``{"kind": "comment", "thread": ...}`` or ``{"kind":
"comment-deleted", "id": ...}``), on every process, as a restore's notice goes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session

from collab.anchors import BadAnchor, anchor_in
from collab.names import clean_name
from collab.persistence import ANONYMOUS
from storage import comments
from storage.comments import Thread
from storage.models import Comment
from web.access import NoteAccess
from web.deps import NoteDep, Services, ServicesDep, require_editor
from web.jsonbody import read_json, request_body

router = APIRouter(prefix="/api/notes/{token}/comments", tags=["comments"])

MAX_BODY_CHARS = 5000
"""The longest comment, in characters."""
MAX_KEY_CHARS = 200
MIN_KEY_CHARS = 16
BODY_BYTES = MAX_BODY_CHARS * 6 + 1024  # every character escaped, and the other members

T = TypeVar("T")


def _body_text(value: str) -> str:
    if not value.strip():
        raise ValueError("the comment is empty")
    if len(value) > MAX_BODY_CHARS:
        raise ValueError(f"a comment is at most {MAX_BODY_CHARS} characters")
    return value


class Said(BaseModel):
    """What a comment says: its text, who says it, and the key that lets them change it."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(description=f"The comment's text: not empty, at most {MAX_BODY_CHARS}.")
    author: str = Field(default="", description="The name the author set (self-declared).")
    key: str | None = Field(
        default=None,
        min_length=MIN_KEY_CHARS,
        max_length=MAX_KEY_CHARS,
        description="A secret the author's browser keeps, to edit or delete it later.",
    )

    _body = field_validator("body")(_body_text)


class ThreadStart(Said):
    """The body of ``POST /api/notes/{token}/comments``: a comment on ``[from, to)``."""

    start: int = Field(alias="from", description="Where the range begins (UTF-16 offset).")
    end: int = Field(alias="to", description="Where it ends, excluded (UTF-16 offset).")


class CommentEdit(BaseModel):
    """The body of ``PATCH .../comments/{thread}/comments/{comment}``."""

    model_config = ConfigDict(extra="forbid")

    body: str
    key: str = Field(min_length=MIN_KEY_CHARS, max_length=MAX_KEY_CHARS)

    _body = field_validator("body")(_body_text)


class CommentPublic(BaseModel):
    id: int
    author: str
    body: str
    created_at: datetime
    edited_at: datetime | None = None


class AnchorPublic(BaseModel):
    """The range's ends as ``Y.encodeRelativePosition`` writes them, in base64."""

    start: str
    end: str


class ThreadPublic(BaseModel):
    id: int
    quote: str = Field(description="The words the thread was started on.")
    resolved: bool
    anchor: AnchorPublic
    created_at: datetime
    comments: list[CommentPublic]


class ThreadList(BaseModel):
    threads: list[ThreadPublic]


def public_thread(thread: Thread) -> ThreadPublic:
    """A thread as the API answers it (never a comment's key hash)."""
    encode = base64.b64encode
    return ThreadPublic(
        id=thread.id,
        quote=thread.quote,
        resolved=thread.resolved,
        anchor=AnchorPublic(
            start=encode(thread.anchor_start).decode(), end=encode(thread.anchor_end).decode()
        ),
        created_at=thread.created_at,
        comments=[CommentPublic(**vars(said)) for said in thread.comments],
    )


@router.get("", response_model=ThreadList)
async def list_threads(access: NoteDep, services: ServicesDep) -> ThreadList:
    """The note's threads, open and resolved, oldest first (any link of the note)."""
    found = await _in_session(
        services, lambda s: comments.threads_of(session=s, note_id=access.note_id)
    )
    return ThreadList(threads=[public_thread(thread) for thread in found])


@router.post(
    "",
    status_code=201,
    response_model=ThreadPublic,
    openapi_extra=request_body(ThreadStart, required=True),
)
async def start_thread(access: NoteDep, request: Request, services: ServicesDep) -> ThreadPublic:
    """Comment on ``[from, to)`` of the note's current text; 422 for a range that does not fit."""
    _may_comment(access)
    said = await read_json(request, ThreadStart, BODY_BYTES)
    try:
        anchor = await anchor_in(services.rooms, access.note_id, said.start, said.end)
    except BadAnchor as error:
        raise HTTPException(422, detail=f"bad anchor: {error}") from None
    thread = await _in_session(
        services,
        lambda s: comments.start_thread(
            session=s,
            note_id=access.note_id,
            anchor=(anchor.start, anchor.end),
            quote=anchor.quote,
            author=_author(said.author),
            body=said.body,
            key=said.key,
        ),
    )
    return _told(services, access, thread)


@router.post(
    "/{thread}/replies",
    status_code=201,
    response_model=ThreadPublic,
    openapi_extra=request_body(Said, required=True),
)
async def reply(
    access: NoteDep, thread: int, request: Request, services: ServicesDep
) -> ThreadPublic:
    """Add a comment to a thread."""
    _may_comment(access)
    said = await read_json(request, Said, BODY_BYTES)
    replied = await _in_session(
        services,
        lambda s: comments.reply(
            session=s,
            note_id=access.note_id,
            thread_id=thread,
            author=_author(said.author),
            body=said.body,
            key=said.key,
        ),
    )
    return _told(services, access, _found(replied))


@router.post("/{thread}/resolve", response_model=ThreadPublic)
async def resolve(access: NoteDep, thread: int, services: ServicesDep) -> ThreadPublic:
    """Mark a thread resolved (it stays listed, as resolved)."""
    return await _resolved(access, thread, services, True)


@router.post("/{thread}/reopen", response_model=ThreadPublic)
async def reopen(access: NoteDep, thread: int, services: ServicesDep) -> ThreadPublic:
    """Open a resolved thread again."""
    return await _resolved(access, thread, services, False)


async def _resolved(
    access: NoteDep, thread: int, services: Services, resolved: bool
) -> ThreadPublic:
    _may_comment(access)
    changed = await _in_session(
        services,
        lambda s: comments.set_resolved(
            session=s, note_id=access.note_id, thread_id=thread, resolved=resolved
        ),
    )
    return _told(services, access, _found(changed))


@router.delete("/{thread}", status_code=204)
async def delete_thread(access: NoteDep, thread: int, services: ServicesDep) -> Response:
    """Delete a thread and its comments (the edit link only)."""
    require_editor(access, "delete a thread")
    deleted = await _in_session(
        services,
        lambda s: comments.delete_thread(session=s, note_id=access.note_id, thread_id=thread),
    )
    if not deleted:
        raise HTTPException(404, detail="this note has no such thread")
    _tell(services, access, {"kind": "comment-deleted", "id": thread})
    return Response(status_code=204)


@router.patch(
    "/{thread}/comments/{comment}",
    response_model=ThreadPublic,
    openapi_extra=request_body(CommentEdit, required=True),
)
async def edit_comment(
    access: NoteDep, thread: int, comment: int, request: Request, services: ServicesDep
) -> ThreadPublic:
    """Change the text of one's own comment (the key it was written with)."""
    _may_comment(access)
    change = await read_json(request, CommentEdit, BODY_BYTES)

    def edit(session: Session) -> Thread | None:
        own = _own(session, access, thread, comment, change.key)
        comments.edit_comment(session=session, comment=own, body=change.body)
        return comments.thread(session=session, note_id=access.note_id, thread_id=thread)

    return _told(services, access, _found(await _in_session(services, edit)))


@router.delete("/{thread}/comments/{comment}", status_code=204)
async def delete_comment(
    access: NoteDep,
    thread: int,
    comment: int,
    services: ServicesDep,
    key: Annotated[str, Header(alias="X-Comment-Key", max_length=MAX_KEY_CHARS)],
) -> Response:
    """Delete one's own comment (the key in ``X-Comment-Key``); the last one takes its thread."""
    _may_comment(access)

    def remove(session: Session) -> Thread | None:
        own = _own(session, access, thread, comment, key)
        comments.delete_comment(session=session, comment=own)
        return comments.thread(session=session, note_id=access.note_id, thread_id=thread)

    left = await _in_session(services, remove)
    if left is None:
        _tell(services, access, {"kind": "comment-deleted", "id": thread})
    else:
        _told(services, access, left)
    return Response(status_code=204)


def _own(session: Session, access: NoteAccess, thread: int, comment: int, key: str) -> Comment:
    own = comments.own_comment(
        session=session, note_id=access.note_id, thread_id=thread, comment_id=comment, key=key
    )
    if own is None:
        raise HTTPException(404, detail="this thread has no such comment")
    if own is False:
        raise HTTPException(403, detail="only its author can change a comment")
    assert not isinstance(own, bool)
    return own


def _may_comment(access: NoteAccess) -> None:
    if not access.role.may_comment:
        raise HTTPException(403, detail="only the edit or comment link can comment")


def _author(name: str) -> str:
    return clean_name(name) or ANONYMOUS


def _found(thread: Thread | None) -> Thread:
    if thread is None:
        raise HTTPException(404, detail="this note has no such thread")
    return thread


async def _in_session(services: Services, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with Session(services.engine, expire_on_commit=False) as session:
            return work(session)

    return await run_in_threadpool(run)


def _told(services: Services, access: NoteAccess, thread: Thread) -> ThreadPublic:
    """Tell the note's peers of a thread as it now stands (committed); return it."""
    public = public_thread(thread)
    _tell(services, access, {"kind": "comment", "thread": public.model_dump(mode="json")})
    return public


def _tell(services: Services, access: NoteAccess, notice: dict[str, Any]) -> None:
    """Notices to the note's peers here and on every process (its open room, if any)."""
    text = json.dumps(notice)
    room = services.rooms.rooms.get(access.note_id)
    if room is not None:
        room.notify(text)
    else:  # no peer here, maybe some elsewhere
        services.rooms.fanout.notice(access.note_id, 0, text)
