"""Where a link becomes a permission: a token resolves to a note and a role, here only.

Holding a token is what grants access (tokens are capabilities): the edit token
makes its bearer an editor, the view token a viewer, the comment token a commenter
(a viewer who may comment). REST routes, pages and
websockets all go through :func:`find`; websockets also through a small cache
(:class:`GrantCache`), since fifty tabs may open one note at once.

Every lookup opens its own short session and closes it before returning, so no
request ever holds a pooled connection while it waits for something else (40
concurrent reads used to hold 40 connections while waiting for a 41st).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from collab.peer import Role
from storage import notes, spaces
from storage.models import Note, Space

MAX_TOKEN_CHARS = 64

REPLACED_REASON = "this link was replaced"
"""The close reason of the connections a replaced link closes (with 4403)."""
DELETED_REASON = "this note was deleted"
"""The close reason of the connections a deletion closes (with 4404); the page shows it."""


@dataclass(frozen=True)
class NoteAccess:
    """A note, and the role the token used to reach it grants."""

    note: Note
    role: Role
    token: str

    @property
    def note_id(self) -> int:
        assert self.note.id is not None
        return self.note.id


@dataclass(frozen=True)
class Grant:
    """What a token lets a websocket do: which note, in which role."""

    note_id: int
    role: Role


def role_of(note: Note, token: str) -> Role:
    """The role ``token`` grants on ``note`` (which it must belong to)."""
    if secrets.compare_digest(note.edit_token, token):
        return Role.EDITOR
    return Role.COMMENTER if secrets.compare_digest(note.comment_token, token) else Role.VIEWER


def find(engine: Engine, token: str, *, include_deleted: bool = False) -> NoteAccess | None:
    """The note a token opens and the role it grants, or None. Blocking: call in a thread.

    A deleted note opens nothing, unless ``include_deleted`` (to restore it, or to
    say that it was deleted).
    """
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    with Session(engine, expire_on_commit=False) as session:
        note = notes.find_by_token(session=session, token=token, include_deleted=include_deleted)
        if note is None:
            return None
        session.expunge(note)
    return NoteAccess(note, role_of(note, token), token)


@dataclass(frozen=True)
class SpaceAccess:
    """A space, and the role the token used to reach it grants on it and on its notes.

    The space's edit token makes its bearer an editor of every note in it, its
    view token a viewer: its list hands each note's token of that role (never an
    edit token to a viewer), with which the note's own pages and socket open.
    """

    space: Space
    role: Role
    token: str

    @property
    def space_id(self) -> int:
        assert self.space.id is not None
        return self.space.id


def find_space(engine: Engine, token: str, *, include_deleted: bool = False) -> SpaceAccess | None:
    """The space a token opens and the role it grants, or None. Blocking: call in a thread."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.find_space(session=session, token=token, include_deleted=include_deleted)
        if space is None:
            return None
        session.expunge(space)
    editor = secrets.compare_digest(space.edit_token, token)
    return SpaceAccess(space, Role.EDITOR if editor else Role.VIEWER, token)


class GrantCache:
    """Tokens already resolved for websockets, so a burst of connections queries once.

    With one process this is safe for ever, because every change of a note's
    tokens goes through it, and it forgets the old ones (:meth:`forget`) as it
    commits. When other processes can change them, a grant is trusted for
    ``max_age_s`` only (see :mod:`web.linkwatch`).
    """

    def __init__(self, max_entries: int = 10_000, max_age_s: float | None = None) -> None:
        self._grants: dict[str, tuple[Grant, float]] = {}
        self._max = max_entries
        self._max_age_s = max_age_s
        self.generation = 0  # advanced by every forget()

    def get(self, token: str) -> Grant | None:
        found = self._grants.get(token)
        if found is None:
            return None
        grant, looked_up = found
        if self._max_age_s is not None and time.monotonic() - looked_up > self._max_age_s:
            del self._grants[token]
            return None
        return grant

    def put(self, token: str, grant: Grant, *, looked_up_at: int) -> Grant:
        """Remember a grant looked up when :attr:`generation` was ``looked_up_at``.

        A lookup that raced a replacement (it read the old token just before the
        replacement committed and forgot it) is not remembered, or the old link
        would keep opening websockets.
        """
        if looked_up_at == self.generation:
            if len(self._grants) >= self._max:
                self._grants.clear()  # simple and bounded; a miss costs one query
            self._grants[token] = (grant, time.monotonic())
        return grant

    def forget(self, *tokens: str) -> None:
        self.generation += 1
        for token in tokens:
            self._grants.pop(token, None)

    def forget_note(self, note_id: int, keep: tuple[str, ...] = ()) -> None:
        """Forget the note's grants, but for the tokens in ``keep`` (its current links)."""
        stale = [
            token
            for token, (grant, _at) in self._grants.items()
            if grant.note_id == note_id and token not in keep
        ]
        if stale:
            self.forget(*stale)
