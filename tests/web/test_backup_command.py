"""``collab-notes backup`` against a real server while people type."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from support.server import MakeServer, ServerProcess
from support.yclient import YClient

from web.cli import main

pytestmark = pytest.mark.sqlite_only  # SQLite files and their tools


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args], capture_output=True, text=True, timeout=120
    )


async def run_cli(*args: str) -> tuple[int, str]:
    """The command in a subprocess, without blocking the loop the typists run on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def numbered(text: str) -> list[str]:
    return text.replace(">", "> ").split()


async def test_a_backup_taken_while_people_type_has_every_edit_committed_before_it(
    make_server: MakeServer, db_path: Path, tmp_path: Path
) -> None:
    server: ServerProcess = make_server().start()
    tokens = [server.post_note()["id"] for _ in range(3)]
    dest = tmp_path / "backup.db"
    stop = asyncio.Event()

    async def type_into(writer: YClient) -> None:
        n = 0
        while not stop.is_set():
            writer.append(f"<{n}>")
            n += 1
            await asyncio.sleep(0.002)

    async with AsyncExitStack() as stack:
        pairs = [
            (
                await stack.enter_async_context(YClient.connect(server.ws_url, token)),
                await stack.enter_async_context(YClient.connect(server.ws_url, token)),
            )
            for token in tokens
        ]
        typists = [asyncio.create_task(type_into(writer)) for writer, _ in pairs]
        for _, watcher in pairs:
            await watcher.wait_until(lambda c: len(numbered(str(c.text))) > 50, timeout_s=20)
        # A peer receives an edit only once it is committed: what the watchers hold
        # now, and the note just created, were committed before the backup began.
        committed = [str(watcher.text) for _, watcher in pairs]
        made_before = server.post_note("# made just before the backup\n")
        # One page per step: every step is a chance for the server's commits to
        # restart a backup that did not hold its snapshot.
        status, out = await run_cli(
            "backup", str(dest), "--database-url", f"sqlite:///{db_path}", "--step-pages", "1"
        )
        assert status == 0, out
        for _, watcher in pairs:  # typing went on after the copy
            after = len(str(watcher.text))
            await watcher.wait_until(lambda c, after=after: len(str(c.text)) > after + 20)
        stop.set()
        await asyncio.gather(*typists)
        finals = [str(watcher.text) for _, watcher in pairs]
    assert "pages (100%)" in out, f"a many-step copy shows its progress:\n{out}"

    restored = make_server(db=dest).start()
    for token, before, final in zip(tokens, committed, finals, strict=True):
        content = restored.get_note(token).json()["content"]
        assert content.startswith(before), "an edit committed before the backup is missing"
        assert final.startswith(content) and len(content) < len(final), "not one snapshot"
        assert numbered(content) == [f"<{n}>" for n in range(len(numbered(content)))]
    assert restored.get_note(made_before["id"]).json()["title"] == "made just before the backup"


def test_an_existing_destination_is_refused_with_status_2(
    server: ServerProcess, db_path: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "backup.db"
    dest.write_text("yesterday's backup")
    refused = cli("backup", str(dest), "--database-url", f"sqlite:///{db_path}")
    assert refused.returncode == 2 and "already exists; use --force" in refused.stderr
    assert dest.read_text() == "yesterday's backup"
    forced = cli("backup", str(dest), "--force", "--database-url", f"sqlite:///{db_path}")
    assert forced.returncode == 0, forced.stderr
    assert "quick_check passed" in forced.stdout


def test_the_database_comes_from_the_environment_as_for_serve(
    server: ServerProcess, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.post_note("from the environment")
    monkeypatch.setenv("COLLAB_DATABASE_URL", f"sqlite:///{db_path}")
    assert main(["backup", str(tmp_path / "copy.db")]) == 0
    assert (tmp_path / "copy.db").is_file()


def test_a_missing_database_is_refused_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["backup", str(tmp_path / "copy.db"), "--database-url", "sqlite:///nowhere.db"])
    assert status == 2 and "there is no database at" in capsys.readouterr().err
    assert not (tmp_path / "copy.db").exists()


def test_a_postgresql_database_gets_the_pg_dump_command_and_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql+psycopg://notes:s3cret@db.internal:5432/notes"
    assert main(["backup", "notes.dump", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert (
        "pg_dump --format=custom --file=DEST 'postgresql://notes:***@db.internal:5432/notes'" in err
    )
    assert "pg_restore" in err and "s3cret" not in err


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual umask (022), under which SQLite's files and the backups were 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_backup_is_readable_by_its_owner_only(
    server: ServerProcess, db_path: Path, tmp_path: Path, usual_umask: None
) -> None:
    server.post_note("every link and every note")
    copy = tmp_path / "copy.db"
    assert main(["backup", str(copy), "--database-url", f"sqlite:///{db_path}"]) == 0
    assert mode_of(copy) == 0o600
    copy.chmod(0o644)  # --force replaces it with a private file, whatever it was
    assert main(["backup", str(copy), "--force", "--database-url", f"sqlite:///{db_path}"]) == 0
    assert mode_of(copy) == 0o600


@pytest.mark.parametrize("planted", ["a symlink", "a file"])
def test_a_backup_never_writes_into_a_file_someone_else_put_in_its_place(
    server: ServerProcess, db_path: Path, tmp_path: Path, planted: str
) -> None:
    server.post_note("every link and every note")
    dest = tmp_path / "copy.db"
    victim = tmp_path / "victim.db"
    victim.touch()  # empty: SQLite would take it for an empty database and fill it
    # Where the copy used to be written: its name was predictable from the pid.
    trap = tmp_path / f".{dest.name}.partial-{os.getpid()}"
    if planted == "a symlink":
        trap.symlink_to(victim)
    else:
        trap.touch(mode=0o666)  # made by someone else, who could read what went into it
    assert main(["backup", str(dest), "--database-url", f"sqlite:///{db_path}"]) == 0
    assert victim.stat().st_size == 0
    assert not dest.is_symlink() and mode_of(dest) == 0o600
    assert dest.read_bytes().startswith(b"SQLite format 3\x00")
    assert trap.is_symlink() if planted == "a symlink" else trap.stat().st_size == 0
