"""Spaces in storage: their notes listed by role, paged, filtered by tag; deleted and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, select
from support.sql import query

from collab.document import initial_update
from storage import notes, spaces
from storage.db import create_schema
from storage.models import Note, Space, utcnow


def _note(session: Session, space: Space, text: str) -> Note:
    return notes.create_note(
        session=session,
        initial_update=initial_update(text),
        added=len(text),
        space_id=space.id,
        text=text,
    )


def test_a_space_lists_its_notes_with_the_callers_tokens_titles_and_tags(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.create_space(session=session, name="Team")
        other = spaces.create_space(session=session, name="Other")
        plan = _note(session, space, "# Plan\nShip it #Q3 and #plan\n")
        _note(session, other, "# Elsewhere #plan")
        notes.create_note(session=session)  # in no space
        assert space.id is not None
        edit = spaces.list_notes(session=session, space_id=space.id, editor=True)
        view = spaces.list_notes(session=session, space_id=space.id, editor=False)
    [listed] = edit.notes
    assert (listed.token, listed.title, listed.excerpt) == (
        plan.edit_token,
        "Plan",
        "Ship it #Q3 and #plan",
    )
    assert listed.tags == ["plan", "q3"] and listed.updated_by == "Anonymous"
    assert [n.token for n in view.notes] == [plan.view_token]
    assert edit.next is None


def test_a_space_pages_by_last_edit_and_by_title_with_a_cursor(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.create_space(session=session, name="Team")
        assert space.id is not None
        made = [_note(session, space, f"# {title}") for title in ("b", "C", "a", "d", "e")]
        seen: list[str] = []
        after = None
        while True:
            page = spaces.list_notes(
                session=session, space_id=space.id, editor=True, limit=2, after=after
            )
            seen += [n.title for n in page.notes]
            if page.next is None:
                break
            after = page.next
        assert seen == ["e", "d", "a", "C", "b"]  # the last made was edited last
        first = spaces.list_notes(
            session=session, space_id=space.id, editor=True, sort="title", limit=3
        )
        rest = spaces.list_notes(
            session=session, space_id=space.id, editor=True, sort="title", after=first.next
        )
        assert [n.title for n in first.notes + rest.notes] == ["a", "b", "C", "d", "e"]
        with pytest.raises(spaces.BadCursor):
            spaces.list_notes(session=session, space_id=space.id, editor=True, after=first.next)
    assert len(made) == 5


def test_a_tag_filters_the_list_and_the_tags_are_counted(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.create_space(session=session, name="Team")
        assert space.id is not None
        _note(session, space, "---\ntitle: One\ntags: [Plan, ops]\n---\ntext")
        _note(session, space, "# Two\n#plan")
        _note(session, space, "# Three")
        page = spaces.list_notes(session=session, space_id=space.id, editor=True, tag="PLAN")
        assert sorted(n.title for n in page.notes) == ["One", "Two"]
        counts = spaces.tag_counts(session=session, space_id=space.id)
    assert counts == [("plan", 2), ("ops", 1)]


def test_a_later_summary_is_never_replaced_by_an_earlier_one(
    engine: Engine, database_url: str
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        note = notes.create_note(session=session)
        assert note.id is not None
        assert spaces.save_summary(session=session, note_id=note.id, head=5, text="# New #b")
        assert not spaces.save_summary(session=session, note_id=note.id, head=4, text="# Old #a")
        session.refresh(note)
        assert (note.title, note.summary_head) == ("New #b", 5)
    assert query(database_url, "SELECT tag FROM note_tag") == [("b",)]


def test_a_deleted_space_takes_its_notes_and_brings_back_only_those(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.create_space(session=session, name="Team")
        assert space.id is not None
        alone, kept = _note(session, space, "# Alone"), _note(session, space, "# Kept")
        _delete(session, alone)  # before the space, on its own
        deleted = _delete_space(session, space)
        assert deleted == [kept.id]
        assert spaces.find_space(session=session, token=space.edit_token) is None
        assert notes.find_by_token(session=session, token=kept.view_token) is None
        found = spaces.find_space(session=session, token=space.view_token, include_deleted=True)
        assert found is not None
        _restore_space(session, found)
        assert spaces.find_space(session=session, token=space.view_token) is not None
        assert notes.find_by_token(session=session, token=kept.edit_token) is not None
        assert notes.find_by_token(session=session, token=alone.edit_token) is None


def test_purging_removes_spaces_deleted_before_the_window(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        old, recent = (spaces.create_space(session=session, name=n) for n in ("old", "recent"))
        note = _note(session, old, "# In old")
        _delete_space(session, old)
        _delete_space(session, recent)
        session.refresh(old)
        old.deleted_at = utcnow() - timedelta(days=8)
        session.add(old)
        session.commit()
        _restore(session, note)  # back on its own: it stays, spaceless
        purged = spaces.purge_deleted_spaces(
            session=session, deleted_before=utcnow() - timedelta(days=7)
        )
        assert purged == [old.id]
        session.refresh(note)
        assert note.space_id is None
        assert spaces.find_space(session=session, token=recent.edit_token, include_deleted=True)


def test_a_spaces_tags_leave_out_deleted_notes_and_follow_moves(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        here, there = (spaces.create_space(session=session, name=n) for n in ("here", "there"))
        assert here.id is not None and there.id is not None
        first, second = _note(session, here, "# A #x #y"), _note(session, here, "# B #x")
        assert second.id is not None
        assert spaces.tag_counts(session=session, space_id=here.id) == [("x", 2), ("y", 1)]
        _delete(session, first)
        assert spaces.tag_counts(session=session, space_id=here.id) == [("x", 1)]
        _restore(session, first)
        spaces.put_note(session=session, note_id=second.id, space_id=there.id)
        assert spaces.tag_counts(session=session, space_id=here.id) == [("x", 1), ("y", 1)]
        assert spaces.tag_counts(session=session, space_id=there.id) == [("x", 1)]
        page = spaces.list_notes(session=session, space_id=here.id, editor=True, tag="x")
        assert [n.title for n in page.notes] == ["A #x #y"]
        _delete_space(session, here)
        assert spaces.tag_counts(session=session, space_id=here.id) == []
        _restore_space(session, here)
        assert spaces.tag_counts(session=session, space_id=here.id) == [("x", 1), ("y", 1)]


def test_the_kept_tag_counts_are_what_counting_the_tags_gives_after_every_change(
    engine: Engine,
) -> None:
    """``space_tag`` is kept as tags change; after each kind of change it holds what
    counting ``note_tag`` gives (the old way), for every space."""
    with Session(engine, expire_on_commit=False) as session:
        here, there = (spaces.create_space(session=session, name=n) for n in ("here", "there"))
        assert here.id is not None and there.id is not None
        first, second = _note(session, here, "# A #x #y"), _note(session, here, "# B #x")
        third = _note(session, there, "---\ntags: [x, z]\n---\n# C #z")
        assert first.id is not None and second.id is not None and third.id is not None
        _same_counts(session, {here.id: [("x", 2), ("y", 1)], there.id: [("x", 1), ("z", 1)]})
        assert spaces.save_summary(session=session, note_id=first.id, head=9, text="# A #y #w")
        _same_counts(session, {here.id: [("w", 1), ("x", 1), ("y", 1)]})
        assert spaces.save_summary(session=session, note_id=second.id, head=9, text="# B")
        _same_counts(session, {here.id: [("w", 1), ("y", 1)]})
        spaces.put_note(session=session, note_id=third.id, space_id=here.id)
        _same_counts(session, {here.id: [("w", 1), ("x", 1), ("y", 1), ("z", 1)], there.id: []})
        spaces.put_note(session=session, note_id=first.id, space_id=None)
        _same_counts(session, {here.id: [("x", 1), ("z", 1)]})
        _delete(session, third)
        _same_counts(session, {here.id: []})
        _restore(session, third)
        _delete_space(session, here)
        _same_counts(session, {here.id: [], there.id: []})
        _restore_space(session, here)
        _same_counts(session, {here.id: [("x", 1), ("z", 1)]})


def _same_counts(session: Session, want: dict[int, list[tuple[str, int]]]) -> None:
    """Each space's kept counts are ``want`` (where given) and what counting gives."""
    for space in [s.id for s in session.exec(select(Space))]:
        assert space is not None
        kept = spaces.tag_counts(session=session, space_id=space)
        counted = [
            (tag, n)
            for tag, n in session.execute(
                text(
                    "SELECT tag, count(*) AS n FROM note_tag WHERE space_id = :space"
                    " GROUP BY tag ORDER BY n DESC, tag"
                ),
                {"space": space},
            )
        ]
        assert kept == counted, (space, kept, counted)
        if space in want:
            assert kept == sorted(want[space], key=lambda tn: (-tn[1], tn[0])), space


def test_paging_holds_whatever_the_databases_session_time_zone(database_url: str) -> None:
    """PostgreSQL turns a zoned time into a ``timestamp`` in the session's zone: a
    cursor holding a time read back and sent again would compare 9 hours off here."""
    zoned = {"options": "-c TimeZone=Asia/Tokyo"} if database_url.startswith("postgres") else {}
    engine = create_engine(database_url, connect_args=zoned)
    create_schema(engine)
    try:
        with Session(engine, expire_on_commit=False) as session:
            space = spaces.create_space(session=session, name="Team")
            assert space.id is not None
            for title in ("a", "b", "c"):
                _note(session, space, f"# {title}")
            seen: list[str] = []
            after = None
            for _ in range(3):
                page = spaces.list_notes(
                    session=session, space_id=space.id, editor=True, limit=1, after=after
                )
                seen += [n.title for n in page.notes]
                after = page.next
        assert seen == ["c", "b", "a"] and after is None
    finally:
        engine.dispose()


def _delete(session: Session, note: Note) -> None:
    """Delete as the route does, in a session of its own (the test's keeps its objects)."""
    assert note.id is not None
    with Session(session.get_bind()) as own:
        assert notes.delete_note(session=own, note_id=note.id, edit_token=note.edit_token)


def _restore(session: Session, note: Note) -> None:
    assert note.id is not None
    since = datetime(2000, 1, 1, tzinfo=UTC)
    with Session(session.get_bind()) as own:
        back = notes.restore_note(
            session=own, note_id=note.id, edit_token=note.edit_token, deleted_after=since
        )
    assert back is not None


def _delete_space(session: Session, space: Space) -> list[int]:
    assert space.id is not None
    deleted = spaces.delete_space(session=session, space_id=space.id, edit_token=space.edit_token)
    assert deleted is not None
    session.expire_all()  # the rows changed under those loaded
    return deleted


def _restore_space(session: Session, space: Space) -> None:
    assert space.id is not None
    since = datetime(2000, 1, 1, tzinfo=UTC)
    assert spaces.restore_space(
        session=session, space_id=space.id, edit_token=space.edit_token, deleted_after=since
    )
    session.expire_all()


def test_a_space_deleted_and_its_link_replaced_at_once_each_answer_true(engine: Engine) -> None:
    """Delete with a link that was just replaced: nothing happens, and it says so (None);
    a replacement of a deleted space's link gives no link (None)."""
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.create_space(session=session, name="Team")
        assert space.id is not None
        old = space.edit_token
        new = spaces.replace_space_token(
            session=session, space_id=space.id, which="edit", edit_token=old, old=old
        )
        assert new is not None
        assert spaces.delete_space(session=session, space_id=space.id, edit_token=old) is None
        assert spaces.delete_space(session=session, space_id=space.id, edit_token=new) == []
        assert spaces.find_space(session=session, token=new, include_deleted=True) is not None
        again = spaces.replace_space_token(
            session=session, space_id=space.id, which="view", edit_token=new, old=space.view_token
        )
        assert again is None  # deleted: no new view link for anyone
        assert spaces.find_space(session=session, token=new, include_deleted=True) is not None
