"""A note's files collected by the history window: the purge deletes those that neither the
text nor a version of the window names, ``check`` lists them first, and the rest stay."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from support.http import http
from support.live import LiveServer
from support.sql import execute, query
from support.waiting import until
from support.yclient import YClient

from collab import document
from storage.check import check_sqlite


def png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(live: LiveServer, token: str, data: bytes) -> str:
    """The id of ``data`` uploaded to the note."""
    sent = http.post(f"{live.url}/api/notes/{token}/files", files={"file": ("a.png", data)})
    assert sent.status_code == 201, sent.text
    file: str = sent.json()["id"]
    return file


async def write(client: YClient, markdown: str) -> None:
    """Make the note's text ``markdown``, committed."""
    del client.text[0 : len(client.text)]
    client.text.insert(0, markdown)
    await client.wait_saved()


def image(file: str) -> str:
    return f"![]({'attachment:' + file})\n"


async def test_the_purge_collects_only_files_no_text_of_the_history_window_names(
    make_live: Callable[..., LiveServer], database_url: str, backend: str, db_path: Path
) -> None:
    """The window is a day; the note's history is moved back two days, but for one named
    version (12 hours), and a last edit, now, takes a file's reference out of the text."""
    live = make_live(history_days=1).start()  # the purge: at start, then hourly
    note = live.post_note("start")
    edit = note["id"]
    gone, old, left, kept, again = (upload(live, edit, png(shade)) for shade in range(5))
    versions = f"{live.url}/api/notes/{edit}/versions"
    async with YClient.connect(live.ws_url, edit) as client:
        for name, text in [
            ("gone", image(gone) + image(again)),
            ("old", image(old)),
            ("left", image(left) + image(kept)),
        ]:
            await write(client, text)
            assert http.post(versions, json={"name": name}).status_code == 201
        now = datetime.now(UTC).replace(tzinfo=None)
        two_days, half_a_day = now - timedelta(days=2), now - timedelta(hours=12)
        moved = {"n": 1, "t": two_days}  # note 1: the only note
        execute(database_url, "UPDATE update_log SET committed_at = :t WHERE note_id = :n", **moved)
        execute(database_url, "UPDATE version SET created_at = :t WHERE note_id = :n", **moved)
        execute(database_url, "UPDATE note_file SET created_at = :t, seen_at = :t", t=two_days)
        execute(database_url, "UPDATE version SET created_at = :t WHERE name = 'old'", t=half_a_day)
        await write(client, image(kept))  # the reference to `left` leaves the text
    # A minute ago: the restore below then spares no one's typing (collab.restoring).
    minute = {"n": 1, "t": now - timedelta(minutes=1), "old": two_days}
    execute(
        database_url, "UPDATE update_log SET committed_at = :t WHERE committed_at > :old", **minute
    )
    fresh = upload(live, edit, png(9))  # its Markdown is still to come
    assert upload(live, edit, png(4)) == again  # uploaded again: seen now
    if backend == "sqlite":  # collab-notes check reads SQLite files
        report = check_sqlite(
            db_path, vet=document.first_problem, build=document.build, history_days=1
        )
        assert [p.subject for p in report.problems] == [f"file {gone}"], report.problems
        assert "the next purge deletes it" in report.problems[0].reason
    live.stop()
    live = make_live(history_days=1, deleted_note_retention_days=0.000_002).start()  # 0.2 s

    def files() -> set[str]:
        return {file for (file,) in query(database_url, "SELECT file_id FROM note_file")}

    def blobs() -> set[str]:
        return {blob for (blob,) in query(database_url, "SELECT id FROM file_blob")}

    # Its bytes go last in the purge's round, after the note's files were settled.
    await until(lambda: gone not in blobs(), what="the purge", every_s=0.05)
    assert files() == blobs() == {old, left, kept, again, fresh}
    # The same round recorded when each was last named: none is due again for a while.
    seen = dict(query(database_url, "SELECT file_id, seen_at FROM note_file"))
    assert all(str(seen[file]) > str(now - timedelta(days=1)) for file in files()), seen
    versions = f"{live.url}/api/notes/{edit}/versions"
    named = http.get(versions).json()["versions"]
    restore = next(v for v in named if v["name"] == "old")
    assert http.post(f"{versions}/{restore['id']}/restore", json={}).status_code == 200
    assert live.get_note(edit).json()["content"] == image(old)
    shown = http.get(f"{live.url}/api/notes/{note['view_id']}/files/{old}")
    assert shown.status_code == 200 and shown.content == png(1)
    assert http.get(f"{live.url}/api/notes/{edit}/files/{gone}").status_code == 404
