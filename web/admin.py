"""The operator's commands ``collab-notes backup``, ``check``, ``migrate`` and ``reindex``.

Each takes the database as ``serve`` does (``--database-url``, else
``COLLAB_DATABASE_URL``, else the default) and returns an exit status:

* ``backup``: 0 the copy is complete and checked; 1 the copy failed (DEST was
  not touched); 2 nothing was done: DEST exists (without ``--force``), there is
  no database, or the database is not SQLite (the message says how instead).
* ``check``: 0 nothing is wrong; 1 problems were found, each listed; 2 the
  check could not run: no database there, or not SQLite.
* ``migrate`` (SQLite or PostgreSQL): 0 the schema is up to date; 1 a migration
  failed (its transaction is rolled back); 2 refused: a server serves the file.
* ``reindex`` (SQLite or PostgreSQL): 0 every note's search entry was rebuilt
  from its log; 1 some notes could not be indexed (each is logged); 2 refused: a
  server serves the SQLite file (its own indexer keeps the index).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from collab import document
from storage.backup import PAGES_PER_STEP, BackupRefused, backup_sqlite
from storage.check import CheckRefused, Problem, check_sqlite
from storage.db import (
    DatabaseInUse,
    SchemaTooNew,
    create_schema,
    exclusive_sqlite,
    make_engine,
    sqlite_path,
)
from storage.retention import DEFAULT_HISTORY_DAYS
from storage.updates import SqlDocumentStore
from web.settings import Settings, env_name

# The default of serve's --database-url (not Settings(): that reads every COLLAB_* variable).
DEFAULT_DATABASE_URL: str = Settings.model_fields["database_url"].default
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
GROUP_NOTES_OVER = 10
"""Past this many notes with the same problem, the rest are counted, not listed."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup``, ``check``, ``migrate`` and ``reindex`` to the ``collab-notes`` parser."""
    # Over 40 lines: one declaration per command, each with its help and exit statuses.
    backup = commands.add_parser(
        "backup",
        help="copy a live SQLite database consistently",
        description="Copy the database to DEST while the server runs: one consistent "
        "snapshot, with every edit committed before the copy began. Exit status: 0 done, "
        "1 the copy failed (DEST untouched), 2 refused (DEST exists, no database, not SQLite).",
    )
    backup.add_argument("dest", metavar="DEST", type=Path, help="the file to write")
    backup.add_argument("--force", action="store_true", help="replace DEST if it exists")
    backup.add_argument(
        "--step-pages",
        type=_positive,
        default=PAGES_PER_STEP,
        metavar="PAGES",
        help=f"database pages copied per step, between progress lines (default: {PAGES_PER_STEP})",
    )
    check = commands.add_parser(
        "check",
        help="check the database and that every note loads",
        description="Run SQLite's integrity check and load every note as the server would; "
        "list the files the next purge collects. Exit status: 0 nothing is wrong, 1 problems "
        "found (each listed), 2 could not check.",
    )
    check.add_argument(
        "--history-days",
        type=_days,
        metavar="DAYS",
        help="the server's --history-days: files no text of this window names are listed "
        f"[env: {env_name('history_days')}] (default: {DEFAULT_HISTORY_DAYS:g})",
    )
    migrate = commands.add_parser(
        "migrate",
        help="bring the database's schema up to date",
        description="Run the schema migrations a server runs when it starts, and exit: to "
        "upgrade a database before starting several processes on it, or to see the "
        "outcome first. SQLite or PostgreSQL. Exit status: 0 done (or nothing to do), "
        "1 a migration failed (nothing of it is kept), 2 refused (not a database URL, a "
        "server is serving the SQLite file).",
    )
    reindex = commands.add_parser(
        "reindex",
        help="rebuild the search index from the notes' logs",
        description="Rebuild every note's search entry (its current text and the text its "
        "versions removed) from the update log, printing progress. SQLite (with no server "
        "serving the file) or PostgreSQL (servers may run). Exit status: 0 done, 1 some "
        "notes could not be indexed, 2 refused.",
    )
    for command in (backup, check, migrate, reindex):
        command.add_argument(
            "--database-url",
            metavar="URL",
            help=f"the database, as for serve [env: {env_name('database_url')}] "
            f"(default: {DEFAULT_DATABASE_URL})",
        )


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of pages above 0, got {raw!r}")
    return value


def _days(raw: str) -> float:
    """A number of days, 0 or more (as the server's --history-days)."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of days, 0 or more, got {raw!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``backup``, ``check`` or ``migrate``; return the exit status."""
    url = args.database_url or os.environ.get(env_name("database_url"), DEFAULT_DATABASE_URL)
    try:
        path = sqlite_path(url)
        backend = make_url(url).get_backend_name()
    except ArgumentError as error:
        return _refuse(args.command, f"not a database URL: {error}")
    if args.command == "migrate":
        return migrate(url)
    if args.command == "reindex":
        return reindex(url)
    if path is None:
        return _refuse(args.command, _not_sqlite(args.command, url, backend))
    if args.command == "backup":
        return backup(path, args.dest, force=args.force, step_pages=args.step_pages)
    days = args.history_days
    if days is None:
        name = env_name("history_days")
        try:
            days = _days(os.environ.get(name, str(DEFAULT_HISTORY_DAYS)))
        except argparse.ArgumentTypeError as error:
            return _refuse(args.command, f"{name}: {error}")
    return check(path, days)


def migrate(url: str) -> int:
    """Migrate the database at ``url`` to this release's schema, saying from what to what."""
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"collab-notes migrate: {shown}", flush=True)
    try:
        with exclusive_sqlite(url):
            engine = make_engine(url)
            try:
                was, now = create_schema(engine)
            finally:
                engine.dispose()
    except DatabaseInUse as error:
        return _refuse("migrate", str(error))
    except (SQLAlchemyError, SchemaTooNew, OSError) as error:
        print(f"collab-notes migrate: failed, the schema is as it was: {error}", file=sys.stderr)
        return EXIT_FAILED
    if was == now:
        print(f"collab-notes migrate: the schema is at revision {now} already; nothing to do")
    else:
        print(f"collab-notes migrate: schema at revision {now} (was {was or 'empty'})")
    return EXIT_OK


def reindex(url: str) -> int:
    """Rebuild the search index of the database at ``url``, printing progress."""
    from web.searchindex import reindex as rebuild

    shown = make_url(url).render_as_string(hide_password=True)
    print(f"collab-notes reindex: {shown}", flush=True)
    started = time.monotonic()
    try:
        with exclusive_sqlite(url):
            engine = make_engine(url)
            try:
                create_schema(engine)
                done, failed = rebuild(engine, SqlDocumentStore(engine), _note_progress())
            finally:
                engine.dispose()
    except DatabaseInUse as error:
        return _refuse("reindex", str(error))
    except (SQLAlchemyError, SchemaTooNew, OSError) as error:
        print(f"collab-notes reindex: failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    took = time.monotonic() - started
    print(f"collab-notes reindex: {_count(done, 'note')} indexed in {took:.1f} s", end="")
    print(f", {failed} could not be (see above)" if failed else "")
    return EXIT_FAILED if failed else EXIT_OK


def _note_progress() -> Callable[[int, int], None]:
    """Prints a line at every tenth of the notes (when there are more than 100)."""
    shown = [0]

    def show(done: int, total: int) -> None:
        tenth = done * 10 // total
        if total > 100 and tenth > shown[0]:
            shown[0] = tenth
            print(f"  indexed {done:,} of {total:,} notes ({done * 100 // total}%)", flush=True)

    return show


def backup(source: Path, dest: Path, *, force: bool, step_pages: int) -> int:
    """Copy the SQLite database ``source`` to ``dest``, printing progress."""
    print(f"collab-notes backup: copying {source} to {dest.resolve()}", flush=True)
    try:
        result = backup_sqlite(
            source, dest, force=force, pages_per_step=step_pages, progress=_progress(step_pages)
        )
    except BackupRefused as error:
        return _refuse("backup", str(error))
    except (sqlite3.Error, OSError) as error:
        print(f"collab-notes backup: failed, {dest} untouched: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"collab-notes backup: wrote {result.dest}: {_count(result.notes, 'note')}, "
        f"{_count(result.pages, 'page')}, {result.bytes:,} bytes; SQLite's quick_check passed"
    )
    return EXIT_OK


def _progress(step_pages: int) -> Callable[[int, int], None]:
    """Prints a line at every tenth of a copy that takes more than one step."""
    shown = [0]

    def show(copied: int, total: int) -> None:
        if total <= step_pages:
            return
        tenth = copied * 10 // total
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"  copied {copied:,} of {total:,} pages ({copied * 100 // total}%)", flush=True)

    return show


def check(path: Path, history_days: float = DEFAULT_HISTORY_DAYS) -> int:
    """Check the SQLite database at ``path``; print what is wrong."""
    print(f"collab-notes check: {path}", flush=True)
    try:
        report = check_sqlite(
            path, vet=document.first_problem, build=document.build, history_days=history_days
        )
    except CheckRefused as error:
        return _refuse("check", str(error))
    print(f"database integrity (PRAGMA integrity_check): {report.integrity}")
    loaded = report.notes_checked - report.notes_broken
    print(f"notes: {report.notes_checked} checked, {loaded} load, {report.notes_broken} do not")
    print(f"search index: {report.index_problems} notes behind or wrong")
    if report.ok:
        print("nothing is wrong")
        return EXIT_OK
    print(f"{_count(len(report.problems), 'problem')}:")
    for line in _grouped(report.problems):
        print(f"  {line}")
    return EXIT_FAILED


def _grouped(problems: list[Problem]) -> list[str]:
    """One line per problem, but notes that fail the same way share a line."""
    by_reason: dict[str, list[str]] = {}
    for problem in problems:
        if problem.subject.startswith("note "):
            by_reason.setdefault(problem.reason, []).append(problem.subject.removeprefix("note "))
    lines, shown = [], set()
    for problem in problems:
        notes = by_reason.get(problem.reason, [])
        if not problem.subject.startswith("note ") or len(notes) <= GROUP_NOTES_OVER:
            lines.append(str(problem))
        elif problem.reason not in shown:
            shown.add(problem.reason)
            listed = ", ".join(notes[:GROUP_NOTES_OVER])
            lines.append(
                f"notes {listed} and {len(notes) - GROUP_NOTES_OVER} more: {problem.reason}"
            )
    return lines


def _not_sqlite(command: str, url: str, backend: str) -> str:
    if backend == "sqlite":
        return "an in-memory SQLite database has nothing to copy or check"
    shown = make_url(url).set(drivername=backend).render_as_string(hide_password=True)
    if backend != "postgresql":
        return f"{command} works on SQLite databases only; use {backend}'s own tools"
    if command == "backup":
        return (
            "backup copies SQLite databases only. For PostgreSQL use pg_dump, which "
            "copies a live database consistently:\n"
            f"    pg_dump --format=custom --file=DEST '{shown}'\n"
            "and restore the copy into a new, empty database with:\n"
            "    pg_restore --dbname='postgresql://USER@HOST/NEW_DATABASE' DEST"
        )
    return (
        "check runs SQLite's integrity check only. For PostgreSQL, pg_amcheck checks "
        f"tables and indexes:\n    pg_amcheck '{shown}'"
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _refuse(command: str, message: str) -> int:
    print(f"collab-notes {command}: {message}", file=sys.stderr)
    return EXIT_REFUSED
