"""Which files a note keeps: what settling a judgement does when an edit or an upload
came between reading the texts and deleting."""

from __future__ import annotations

from datetime import timedelta

import pycrdt
from sqlalchemy import Engine
from sqlmodel import Session
from support.sql import execute, query

from collab.persistence import Edit
from storage import file_retention, files, notes
from storage.models import utcnow
from storage.updates import SqlDocumentStore


def give(engine: Engine, note: int, data: bytes) -> str:
    with Session(engine) as session:
        stored = files.add_file(
            session=session,
            note_id=note,
            data=data,
            media_type="text/plain",
            name="a.txt",
            max_note_bytes=0,
        )
    return stored.id


async def test_a_file_is_kept_when_an_edit_or_its_upload_came_after_the_texts_were_read(
    engine: Engine, database_url: str
) -> None:
    with Session(engine) as session:
        note = notes.create_note(session=session)
        assert note.id is not None
    uploaded, edited = give(engine, note.id, b"uploaded"), give(engine, note.id, b"edited")
    two_days = (utcnow() - timedelta(days=2)).replace(tzinfo=None)
    execute(database_url, "UPDATE note_file SET seen_at = :t", t=two_days)
    now = utcnow()
    cutoff, store = now - timedelta(days=1), SqlDocumentStore(engine)
    judged = file_retention.judge(store, note.id, {uploaded}, cutoff, now)
    assert judged.unnamed == {uploaded}
    give(engine, note.id, b"uploaded")  # again, before the purge deletes it: seen now
    assert file_retention.settle(engine, judged, cutoff) == 0

    judged = file_retention.judge(store, note.id, {edited}, cutoff, now)
    assert judged.unnamed == {edited}
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, f"![](attachment:{edited})")
    async with store:
        await store.append(note.id, Edit(doc.get_update(), "Ana", 80))  # names it
    assert file_retention.settle(engine, judged, cutoff) == 0  # the head moved: none go
    left = {file for (file,) in query(database_url, "SELECT file_id FROM note_file")}
    assert left == {uploaded, edited}
    assert file_retention.collect(store, cutoff, utcnow()) == 0  # and the texts keep it
