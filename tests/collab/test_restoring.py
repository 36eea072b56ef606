"""Restoring a version and undoing it: concurrent typing stays whole, the undo keeps every word."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.memclient import MemoryClient
from support.waiting import until

from collab import liveruns, protocol, restoring
from collab.config import RoomConfig
from collab.document import TEXT_NAME
from collab.manager import RoomManager
from collab.persistence import MemoryStore
from collab.restore import fork_edit, run_apart
from collab.room import Room
from collab.textdiff import DELETE, text_diff
from collab.yencoding import DEFAULT_LIMITS

NOTE = 1
LIMITS = DEFAULT_LIMITS.for_stored()
WORDS = st.text(alphabet="abc é\n", min_size=0, max_size=30)


def synced(*docs: pycrdt.Doc[pycrdt.Text]) -> None:
    """Bring every document level with every other."""
    for doc in docs:
        for other in docs:
            if other is not doc:
                other.apply_update(doc.get_update(other.get_state()))


def text_of(doc: pycrdt.Doc[pycrdt.Text]) -> str:
    return str(doc.get(TEXT_NAME, type=pycrdt.Text))


def edit(doc: pycrdt.Doc[pycrdt.Text], where: float, chunk: str) -> None:
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    current = str(text)
    at = len(current[: int(where * len(current))].encode())  # pycrdt indexes UTF-8 bytes
    text.insert(at, chunk)


def restored(doc: pycrdt.Doc[pycrdt.Text], version: str) -> bytes | None:
    """Make the text of ``doc`` ``version`` as a restore does (on a fork); its update."""
    edit = fork_edit(doc.get_update(), text_of(doc), version, LIMITS)
    if edit is not None:
        doc.apply_update(edit.update)
    return None if edit is None else edit.update


def delete(doc: pycrdt.Doc[pycrdt.Text], where: float, size: int) -> None:
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    current = str(text)
    start = int(where * len(current))
    gone = current[start : start + size]
    at = len(current[:start].encode())
    if gone:
        del text[at : at + len(gone.encode())]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=WORDS,
    before=st.lists(st.tuples(st.floats(0, 1), WORDS), max_size=4),
    version=WORDS,
    concurrent=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 99)), max_size=3),
    later=st.lists(
        st.tuples(st.booleans(), st.floats(0, 1), st.integers(0, 99), st.integers(1, 6)),
        max_size=8,
    ),
)
def test_undoing_a_restore_loses_no_character_typed_after_it(
    first: str,
    before: list[tuple[float, str]],
    version: str,
    concurrent: list[tuple[float, int]],
    later: list[tuple[bool, float, int, int]],
) -> None:
    """Ana restores while Ben types (he has not seen it yet); then both type and delete;
    then the restore is undone. Every character typed after the restore that was
    still there before the undo is there after it (each typed character is one of
    its own, so that no fragments can pass for it)."""
    server: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    ana: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    ben: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    edit(ana, 0, first)
    for where, chunk in before:
        edit(ana, where, chunk)
    synced(server, ana, ben)
    before_restore = server.get_update()
    change = restored(server, version)
    after_restore = [before_restore] + ([change] if change else [])
    words: list[str] = []
    for where, _k in concurrent:  # Ben has not seen the restore yet
        words.append(chr(0x4E00 + len(words)))
        edit(ben, where, words[-1])
    synced(server, ana, ben)
    for typing, where, _k, size in later:
        if typing:
            words.append(chr(0x4E00 + len(words)))
            edit(ana, where, words[-1])
        else:
            delete(ben, where, size)
        synced(server, ana, ben)
    alive = [word for word in words if word in text_of(server)]
    clients = restoring.decode_state_vector(server.get_state()).keys()
    update, _kept = restoring.undo_change(
        [before_restore], after_restore, server.get_update(), clients
    )
    if update is not None:
        server.apply_update(update)
    assert [word for word in alive if word not in text_of(server)] == []


@settings(max_examples=100, deadline=None)
@given(first=WORDS, version=WORDS)
def test_undoing_a_restore_nobody_edited_since_brings_the_text_back_exactly(
    first: str, version: str
) -> None:
    server: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    edit(server, 0, first)
    before_restore = server.get_update()
    change = restored(server, version)
    after = [before_restore] + ([change] if change else [])
    clients = restoring.decode_state_vector(server.get_state()).keys()
    update, kept_inside = restoring.undo_change(
        [before_restore], after, server.get_update(), clients
    )
    if update is not None:
        server.apply_update(update)
    assert text_of(server) == first
    assert not kept_inside


def test_an_undo_says_when_someone_wrote_inside_the_restored_text() -> None:
    server: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    edit(server, 0, "one two\n")
    before_restore = server.get_update()
    change = restored(server, "one three four\n")
    assert change is not None
    edit(server, 0.6, "BEN")  # inside "three four"
    clients = restoring.decode_state_vector(server.get_state()).keys()
    after = [before_restore, change]
    update, kept_inside = restoring.undo_change(
        [before_restore], after, server.get_update(), clients
    )
    assert update is not None
    server.apply_update(update)
    assert kept_inside
    assert "BEN" in text_of(server) and text_of(server).replace("BEN", "") == "one two\n"


async def test_a_restore_leaves_the_sentence_someone_is_typing_whole_and_tells_everyone() -> None:
    store = MemoryStore()
    room = Room(NOTE, pycrdt.Doc(), store, RoomConfig())
    async with (
        MemoryClient.join(lambda channel: room.serve(channel), "ana") as ana,
        MemoryClient.join(lambda channel: room.serve(channel), "ben") as ben,
    ):
        await ana.channel.send(protocol.encode_notice_subscribe())
        await ana.present({"user": {"name": "Ana"}})  # her own typing is not concurrent
        await ana.edit(0, "# Plan\n\nold line\n")
        await ben.wait_until(lambda c: str(c.text) == "# Plan\n\nold line\n")
        version = str(ana.text)
        await ana.edit(len(version), "a line Ana saved\n")
        await ben.wait_until(lambda c: str(c.text).endswith("saved\n"))
        await ben.edit(len(str(ben.text)), "Ben is typ")  # ...and he goes on typing
        await ana.wait_until(lambda c: str(c.text).endswith("typ"))
        done = await restoring.restore(room, version, "Ana")
        assert str(room.text) == version + "Ben is typ"
        assert done.kept == len("Ben is typ") and done.position is not None
        await ben.edit(len(str(ben.text)), "ing on")  # sent before he saw the restore
        await ana.wait_until(lambda c: str(c.text) == version + "Ben is typing on")
        room.notify(json.dumps({"kind": "restored", "by": "Ana"}))
        await ana.wait_until(lambda c: "Notice" in c.kinds())
        await ben.roundtrip()
        assert "Notice" not in ben.kinds()  # it never asked: a stock client never hears one
        notice = next(f for f in ana.frames if f[0] == protocol.MessageType.NOTICE)
        assert json.loads(notice[3:]) == {"kind": "restored", "by": "Ana"}


async def test_a_restore_deletes_what_was_typed_longer_ago_than_the_live_window() -> None:
    store = MemoryStore()
    room = Room(NOTE, pycrdt.Doc(), store, RoomConfig())
    async with MemoryClient.join(lambda channel: room.serve(channel), "ben") as ben:
        await ben.edit(0, "kept\n")
        await ben.wait_until(lambda _: str(room.text) == "kept\n")
        await ben.edit(5, "typed since\n")
        await ben.wait_until(lambda _: str(room.text) == "kept\ntyped since\n")
        done = await restoring.restore(room, "kept\n", "Ana", live_typing_s=0)
        await asyncio.wait_for(ben.wait_until(lambda c: str(c.text) == "kept\n"), 2)
        assert done.kept == 0


async def test_a_restore_spares_the_line_of_someone_who_typed_and_left_a_moment_ago() -> None:
    """Ben types a line and closes his tab; the room closes (its grace is 0.1 s here) and
    Ana's restore opens it afresh: his line is read as typed from the log, and spared.
    Ana's own typing, in the same moment, is not: she is the one restoring."""
    async with RoomManager(MemoryStore(), grace_s=0.1) as rooms:
        closed = asyncio.Event()
        rooms.on_closed = lambda note: closed.set()
        async with MemoryClient.join(lambda channel: rooms.serve(NOTE, channel), "ana") as ana:
            await ana.present({"user": {"name": "Ana"}})
            await ana.edit(0, "# Plan\n\n")
            version = str(ana.text)
            async with MemoryClient.join(lambda ch: rooms.serve(NOTE, ch), "ben") as ben:
                await ben.wait_until(lambda c: str(c.text) == version)
                await ben.edit(len(version), "Ben's last line")
                await ana.wait_until(lambda c: str(c.text).endswith("line"))
            await ana.edit(0, "Ana's draft\n")
            await ana.wait_until(lambda c: str(c.text).startswith("Ana's draft"))
        await asyncio.wait_for(closed.wait(), 5)  # everyone left: it closes after its grace
        done = await rooms.in_room(NOTE, lambda room: restoring.restore(room, version, "Ana"))
        assert await rooms.read_text(NOTE) == version + "Ben's last line"
        assert done.kept == len("Ben's last line")


def typed(doc: pycrdt.Doc[pycrdt.Text], chars: str) -> None:
    """Type ``chars`` at the end, one keystroke each ("\b": a backspace)."""
    text = doc.get(TEXT_NAME, type=pycrdt.Text)
    for char in chars:
        end = len(str(text).encode())
        if char == "\b":
            last = str(text)[-1].encode()
            del text[end - len(last) : end]
        else:
            text.insert(end, char)


def test_the_run_someone_is_typing_spans_their_backspaces_and_not_their_older_text() -> None:
    server: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    ben: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    typed(ben, "Ben's own paragraph, written earlier.\n\nAnd more of it.\n")
    edit(ben, 0.3, "inserted elsewhere, ")  # a cursor jump, back into his own text
    typed(ben, "\nBen tpy\b\bypes a sentnce\b\b\bence on")  # at the end again, fixing typos
    synced(server, ben)
    text = text_of(server)
    [(start, end)] = liveruns.live_ranges(server, [ben.client_id])
    assert text[start:end].endswith("\nBen types a sentence on")
    _diffs, kept = liveruns.spare([(DELETE, text)], text, [(start, end)])
    assert kept == len("Ben types a sentence on")


def test_the_run_someone_is_typing_is_found_after_and_among_characters_of_several_bytes() -> None:
    server: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    ana: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    ben: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    typed(ana, "Café ☕ 😀 crème brûlée\n")  # two, three and four UTF-8 bytes, a surrogate pair
    synced(ana, ben)
    typed(ben, "Ben: naïve 😀 ok")
    synced(server, ana, ben)
    text = text_of(server)
    [(start, end)] = liveruns.live_ranges(server, [ben.client_id])  # UTF-16 offsets
    units = text.encode("utf-16-le")
    assert units[2 * start : 2 * end].decode("utf-16-le") == "Ben: naïve 😀 ok"  # was "ve 😀 ok"
    _diffs, kept = liveruns.spare([(DELETE, text)], text, [(start, end)])
    assert kept == len("Ben: naïve 😀 ok")


def test_a_restore_keeps_only_the_sentence_of_someone_who_wrote_the_whole_note() -> None:
    server: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    ben: pycrdt.Doc[pycrdt.Text] = pycrdt.Doc()
    typed(ben, "# Plan\n\n")
    version = text_of(ben)
    typed(ben, "A paragraph saved long ago.\n\n")
    edit(ben, 0.5, "x")
    typed(ben, "Now typing")
    synced(server, ben)
    live = liveruns.live_ranges(server, [ben.client_id])
    _diffs, kept = liveruns.spare(text_diff(text_of(server), version), text_of(server), live)
    assert kept == len("Now typing")
    restore = fork_edit(
        server.get_update(), text_of(server), version, LIMITS, typing=[ben.client_id]
    )
    assert restore is not None and restore.kept == kept
    server.apply_update(restore.update)
    assert text_of(server) == version + "Now typing"


@pytest.mark.parametrize(
    ("text", "version", "typing", "restored"),
    [
        # Ben's line stood where the version has a paragraph: both kept, each a line.
        (
            "# Notes\n\nBen: kingfisher at dawn\n",
            "# Notes\n\nsaw a heron by the weir\n",
            "Ben: kingfisher at dawn",
            "# Notes\n\nBen: kingfisher at dawn\nsaw a heron by the weir\n",
        ),
        (
            "# N\n\nkingfisher",
            "# N\n\nheron\n\nend\n",
            "kingfisher",
            "# N\n\nkingfisher\nheron\n\nend\n",
        ),
        ("a\nxx typing\nb\n", "a\nb\nc\n", "xx typing", "a\nxx typing\nb\nc\n"),
        # Typing inside a line stays inside it.
        ("The quick brown fox\nz\n", "The slow brown fox\n", "brown", "The slow brown fox\n"),
    ],
)
def test_a_kept_line_keeps_its_line_breaks_beside_restored_text(
    text: str, version: str, typing: str, restored: str
) -> None:
    # Before, a kept line ran into the restored text: "...by the weirkingfisher at dawn".
    start = text.index(typing)
    diffs, _kept = liveruns.spare(text_diff(text, version), text, [(start, start + len(typing))])
    assert "".join(chunk for op, chunk in diffs if op != DELETE) == restored


def _processes_apart() -> list[str]:
    """This process's children running ``collab.restore``: where each waits in the kernel."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
            if parent == os.getpid() and b"collab.restore" in command:
                found.append((stat.parent / "wchan").read_text())
    return found


async def test_a_process_apart_is_killed_when_its_caller_is_cancelled() -> None:
    # The authors keeper's backfill runs apart for seconds: a server stopping must not
    # leave it writing to the database behind its back.
    work = asyncio.create_task(run_apart(time.sleep, 60))
    await until(
        lambda: any("sleep" in waits for waits in _processes_apart()),
        what="the process apart at its work (time.sleep)",
        timeout_s=10,
    )
    work.cancel()
    with pytest.raises(asyncio.CancelledError):
        await work
    assert _processes_apart() == []
