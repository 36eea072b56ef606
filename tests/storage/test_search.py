"""The search index in SQL, on SQLite (FTS5) and PostgreSQL (tsvector): what matches,
in what order, what a deleted note and removed text do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

import storage.search
from collab.document import initial_update
from storage import notes, spaces
from storage.indexing import IndexEntry, IndexStatements, Removal, write_entry
from storage.models import Version, utcnow
from storage.search import search


def make_note(engine: Engine, title: str, body: str) -> tuple[int, int]:
    """A note with one version, indexed; returns (note id, version id)."""
    content = f"{title}\n{body}"
    with Session(engine) as session:
        note = notes.create_note(session=session, initial_update=initial_update(content))
        assert note.id is not None
        version = session.exec(select(Version).where(Version.note_id == note.id)).one()
        assert version.id is not None
        ids = note.id, version.id
    index(engine, IndexEntry(ids[0], 1, title, body, 1))
    return ids


def index(engine: Engine, entry: IndexEntry) -> bool:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        written = write_entry(cursor, IndexStatements(engine.dialect), entry, utcnow())
        cursor.close()
        raw.commit()
    finally:
        raw.close()
    return written


def found(
    engine: Engine, ids: storage.search.Notes, query: str, *, deleted: bool = False
) -> list[int]:
    with Session(engine) as session:
        return [hit.note_id for hit in search(session, note_ids=ids, query=query, deleted=deleted)]


def test_words_match_regardless_of_case_and_accents_by_prefix_and_as_quoted_phrases(
    engine: Engine,
) -> None:
    cafe, _ = make_note(engine, "Menu", "Un CAFÉ noir et une crème brûlée, s'il vous plaît.")
    other, _ = make_note(engine, "Brûlée crème", "Nothing in order here: noir.")
    ids = [cafe, other]
    assert found(engine, ids, "cafe") == [cafe]
    assert found(engine, ids, "Café") == [cafe]
    assert found(engine, ids, "caf") == [cafe]  # the last word, as typed, is a prefix
    assert found(engine, ids, "caf ") == []  # ...not once it is finished
    assert set(found(engine, ids, "creme brulee")) == {cafe, other}
    assert found(engine, ids, '"crème brûlée"') == [cafe]  # a phrase keeps its order
    assert found(engine, ids, "noir creme caf") and found(engine, ids, "noir zzz") == []
    assert found(engine, [other], "cafe") == []  # only the notes asked about


def test_a_title_match_ranks_first_and_the_snippet_marks_the_words(engine: Engine) -> None:
    body, _ = make_note(engine, "Shopping", "We should plan the garden this spring. " * 5)
    title, _ = make_note(engine, "Garden plans", "Tomatoes and beans.")
    with Session(engine) as session:
        hits = search(session, note_ids=[body, title], query="garden")
    assert [hit.note_id for hit in hits] == [title, body]
    snippet = hits[1].snippet
    assert [snippet.text[a:b] for a, b in snippet.highlights][:1] == ["garden"]
    assert hits[0].title_highlights == ((0, 6),)


FILLER = "Some other matter entirely, written at length. " * 40  # 280 words


def test_a_word_at_the_top_of_a_short_note_ranks_above_it_twice_deep_in_a_long_one(
    engine: Engine,
) -> None:
    """bm25 (SQLite) weighs a note's length; PostgreSQL ranks by the title and first words."""
    deep, _ = make_note(engine, "Notes", FILLER + "The budget grew; the budget doubled.")
    top, _ = make_note(engine, "Minutes", "We agreed on the budget. Then lunch.")
    assert found(engine, [deep, top], "budget") == [top, deep]


def test_hits_that_rank_alike_come_most_recently_edited_first(engine: Engine) -> None:
    older, _ = make_note(engine, "Notes", FILLER + "The budget grew.")
    newer, _ = make_note(engine, "Notes", FILLER + "The budget grew.")
    with engine.begin() as connection:
        earlier = utcnow() - timedelta(hours=1)
        connection.execute(
            text("UPDATE note SET updated_at = :t WHERE id = :id"), {"t": earlier, "id": older}
        )
    assert found(engine, [older, newer], "budget") == [newer, older]
    assert found(engine, [older, newer], "budget", deleted=True) == [newer, older]


def test_a_broad_query_lists_title_matches_then_the_most_recently_edited(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query matching more than ``BROAD`` of the notes searched is not ranked whole:
    the notes with the words in their title first, then the latest edits."""
    strong, _ = make_note(engine, "Notes", "Budget: the budget, budget and budget.")
    titled, _ = make_note(engine, "Budget review", FILLER + "The budget grew.")
    others = [make_note(engine, "Notes", FILLER + "The budget grew.")[0] for _ in range(3)]
    unrelated, _ = make_note(engine, "Lunch", "Soup.")
    now = utcnow()
    with engine.begin() as connection:  # strong is the oldest edit, then titled, then others
        for age, note in enumerate([*reversed(others), titled, strong]):
            moment = now - timedelta(hours=age)
            connection.execute(
                text("UPDATE note SET updated_at = :t, edited_at = :t WHERE id = :id"),
                {"t": moment, "id": note},
            )
    every = [strong, titled, *others, unrelated]
    ranked = found(engine, every, "budget")
    assert set(ranked[:2]) == {strong, titled}  # ranked by relevance, not by the latest edit
    with Session(engine) as session:  # and as a space (PostgreSQL: its own statement)
        space_id = spaces.create_space(session=session, name="Team").id
        assert space_id is not None
        for note in every:
            spaces.put_note(session=session, note_id=note, space_id=space_id)
    team = storage.search.Space(space_id)
    assert found(engine, team, "budget") == ranked
    monkeypatch.setattr(storage.search, "BROAD", 4)  # five notes match: broad
    latest = [titled, *reversed(others), strong]
    assert found(engine, every, "budget") == latest == found(engine, team, "budget")
    assert found(engine, every, "budg") == latest == found(engine, team, "budg")  # as typed
    assert found(engine, team, "review budget") == [titled]
    assert found(engine, every, "review budget") == [titled]  # one match: ranked as ever
    four = [strong, titled, others[0], unrelated]  # four notes searched: not broad
    assert found(engine, four, "budget") == ranked_without(ranked, others[1], others[2])
    monkeypatch.setattr(storage.search, "BROAD", 3)
    with Session(engine) as session:  # deleted notes are not counted, nor found
        for note in (others[0], others[1]):
            row = notes.get_note(session=session, note_id=note)
            assert row is not None
            notes.delete_note(session=session, note_id=note, edit_token=row.edit_token)
    assert found(engine, every, "budget") == ranked_without(ranked, others[0], others[1])
    assert found(engine, team, "budget") == ranked_without(ranked, others[0], others[1])


def ranked_without(ranked: list[int], *gone: int) -> list[int]:
    return [note for note in ranked if note not in gone]


def test_highlights_count_utf16_units_and_the_snippet_is_plain_text(engine: Engine) -> None:
    note, _ = make_note(engine, "Emoji", "😀 <b>résumé</b> here")
    with Session(engine) as session:
        [hit] = search(session, note_ids=[note], query="resume")
    assert hit.snippet.text == "😀 <b>résumé</b> here"  # stored text, to be shown as text
    [(start, end)] = hit.snippet.highlights
    assert hit.snippet.text.encode("utf-16-le")[start * 2 : end * 2].decode("utf-16-le") == "résumé"


def test_a_deleted_note_vanishes_from_results_and_comes_back_with_undelete(engine: Engine) -> None:
    note, _ = make_note(engine, "Plans", "secret quarterly figures")
    with Session(engine) as session:
        row = notes.get_note(session=session, note_id=note)
        assert row is not None
        token = row.edit_token
        assert notes.delete_note(session=session, note_id=note, edit_token=token) is not None
    assert found(engine, [note], "quarterly") == []
    with Session(engine) as session:
        since = datetime(2000, 1, 1, tzinfo=UTC)
        back = notes.restore_note(
            session=session, note_id=note, edit_token=token, deleted_after=since
        )
        assert back is not None
    assert found(engine, [note], "quarterly") == [note]


def test_removed_text_is_found_with_its_version_author_and_time_unless_it_is_back(
    engine: Engine,
) -> None:
    note, first = make_note(engine, "Minutes", "We agreed on the budget.")
    with Session(engine) as session:
        second = Version(note_id=note, kind="auto", position=2, first_position=2)
        session.add(second)
        session.commit()
        assert second.id is not None
        second_id = second.id
    when = utcnow() - timedelta(minutes=5)
    removal = Removal(first, second_id, "agreed on the budget", "Ada", when)
    assert index(engine, IndexEntry(note, 2, "Minutes", "We postponed it.", 2, (removal,)))
    assert found(engine, [note], "budget") == []
    with Session(engine) as session:
        [hit] = search(session, note_ids=[note], query="budg", deleted=True)
    assert (hit.note_id, hit.deleted, hit.version, hit.removed_by) == (note, True, first, "Ada")
    assert hit.removed_at is not None and abs(hit.removed_at - when) < timedelta(seconds=1)
    assert [hit.snippet.text[a:b] for a, b in hit.snippet.highlights] == ["budget"]
    # The word is typed again: it is in the current text, so it is not reported as deleted.
    assert index(engine, IndexEntry(note, 3, "Minutes", "The budget is back.", 2, ()))
    with Session(engine) as session:
        hits = search(session, note_ids=[note], query="budget", deleted=True)
    assert [(hit.note_id, hit.deleted) for hit in hits] == [(note, False)]


def test_an_entry_older_than_the_one_indexed_is_not_written(engine: Engine) -> None:
    note, _ = make_note(engine, "Race", "first words")
    assert index(engine, IndexEntry(note, 5, "Race", "newest words", 1))
    assert not index(engine, IndexEntry(note, 3, "Race", "older words", 1))
    assert found(engine, [note], "newest") == [note] and found(engine, [note], "older") == []
