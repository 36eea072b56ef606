"""Where a link becomes a permission: a token resolves to a note and a role, here only.

Holding a token is what grants access (tokens are capabilities): the edit token
makes its bearer an editor, the view token a viewer. REST routes, pages and
websockets all go through :func:`find`; websockets also through a small cache
(:class:`GrantCache`), since fifty tabs may open one note at once.

Every lookup opens its own short session and closes it before returning, so no
request ever holds a pooled connection while it waits for something else (40
concurrent reads used to hold 40 connections while waiting for a 41st).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from collab.peer import Role
from storage import notes
from storage.models import Note

MAX_TOKEN_CHARS = 64


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
    return Role.EDITOR if secrets.compare_digest(note.edit_token, token) else Role.VIEWER


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


class GrantCache:
    """Tokens already resolved for websockets, so a burst of connections queries once.

    Safe because every change of a note's tokens goes through this process,
    which forgets the old ones (:meth:`forget`) as it commits.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._grants: dict[str, Grant] = {}
        self._max = max_entries
        self.generation = 0  # advanced by every forget()

    def get(self, token: str) -> Grant | None:
        return self._grants.get(token)

    def put(self, token: str, grant: Grant, *, looked_up_at: int) -> Grant:
        """Remember a grant looked up when :attr:`generation` was ``looked_up_at``.

        A lookup that raced a replacement (it read the old token just before the
        replacement committed and forgot it) is not remembered, or the old link
        would keep opening websockets.
        """
        if looked_up_at == self.generation:
            if len(self._grants) >= self._max:
                self._grants.clear()  # simple and bounded; a miss costs one query
            self._grants[token] = grant
        return grant

    def forget(self, *tokens: str) -> None:
        self.generation += 1
        for token in tokens:
            self._grants.pop(token, None)
