"""Search against its budgets (issue 26), on SQLite and PostgreSQL, over HTTP on localhost.

    .venv/bin/python bench/search_budgets.py                 # 10,000 notes, 100 MB; both databases
    .venv/bin/python bench/search_budgets.py --notes 1000 --backends sqlite   # a quick look

The set: ``--notes`` notes of ``--note-chars`` characters of Markdown (10,000 of
10 KB: 100 MB), ``--with-history`` of them (1,000) with twelve more sessions of
editing over a year, each replacing a paragraph (so their removed text is
indexed), written straight into a fresh database (``bench/search/generate.py``),
then indexed by ``collab-notes reindex``'s code (its time is reported), and its
old history thinned as a running server's housekeeping would (not in the timing).

What is timed, with a ``collab-notes serve`` process on that database:

* ``POST /api/search`` with 500 tokens (the route's limit): one word (frequency
  rank 100-2,000), three words of one paragraph, one very common word (rank
  1-10: the most rows to rank), and with ``deleted``: p50 and p95 of the HTTP
  request's wall time, ``--requests`` of each;
* ``GET /api/spaces/{token}/search`` in a space holding every note of the set
  (the budget's "space of 10,000 notes"), through its edit link, same queries;
* catch-up: 1,000 notes of 10 KB posted through ``POST /api/notes`` (an
  import), then the time until the index holds them all.

Budgets: search < 50 ms p95, with deleted text < 150 ms p95, catch-up < 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from harness.backends import Postgres  # noqa: E402
from history.server import Server  # noqa: E402
from search.generate import Vocabulary, Writer, populate  # noqa: E402

from storage.db import create_schema, make_engine  # noqa: E402
from storage.retention import DEFAULT_HISTORY_DAYS  # noqa: E402
from storage.spaces import create_space  # noqa: E402
from storage.updates import SqlDocumentStore  # noqa: E402
from web.housekeeping import thin_once  # noqa: E402
from web.searchindex import reindex  # noqa: E402

BUDGET_MS = {"search": 50.0, "deleted": 150.0}
CATCH_UP_BUDGET_S = 10.0
TOKENS = 500


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def queries(
    vocabulary: Vocabulary, writer: Writer, count: int
) -> dict[str, list[tuple[str, bool]]]:
    one = [(vocabulary.rank(100, 2000), False) for _ in range(count)]
    three = [(" ".join(writer.paragraph().rstrip(".?!").split()[2:5]), False) for _ in range(count)]
    common = [(vocabulary.rank(0, 10), False) for _ in range(count)]
    deleted = [(vocabulary.rank(100, 2000), True) for _ in range(count)]
    return {
        "one word": one,
        "three words": three,
        "common word": common,
        "one word, deleted": deleted,
    }


def time_http(
    url: str, tokens: list[str], asked: list[tuple[str, bool]]
) -> tuple[list[float], int]:
    samples, found = [], 0
    with httpx.Client(timeout=30) as client:
        for q, deleted in asked:
            started = time.perf_counter()
            response = client.post(
                f"{url}/api/search", json={"q": q, "tokens": tokens, "deleted": deleted}
            )
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            found += len(response.json()["results"])
    return samples, found


def time_space(url: str, space: str, asked: list[tuple[str, bool]]) -> tuple[list[float], int]:
    """Wall times (ms) of each search of the space whose edit token is ``space``, and
    how many results they found."""
    samples, found = [], 0
    with httpx.Client(timeout=30) as client:
        for q, deleted in asked:
            started = time.perf_counter()
            response = client.get(
                f"{url}/api/spaces/{space}/search",
                params={"q": q, "deleted": "true" if deleted else "false"},
            )
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            found += len(response.json()["results"])
    return samples, found


def into_one_space(engine: Engine) -> str:
    """A new space holding every note; its edit token."""
    with Session(engine) as session:
        space = create_space(session=session, name="Everything")
        session.connection().execute(text("UPDATE note SET space_id = :space"), {"space": space.id})
        session.commit()
        return space.edit_token


def cpu_ms(pid: int) -> float:
    """The CPU time a process used so far (user + system), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def database_cpu_ms(data: Path | None) -> float:
    """The CPU time (ms) a PostgreSQL server's processes used so far (0 without one).

    Its backends run the search's SQL, outside the server process whose CPU is
    read: on a loaded machine the two together say what a search costs.
    """
    if data is None:
        return 0.0
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    total = cpu_ms(postmaster)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def catch_up(server: Server, database_url: str, writer: Writer, count: int) -> tuple[float, float]:
    """Post ``count`` notes; (seconds to post them, seconds after that until all are indexed)."""
    bodies = ["\n\n".join(writer.note(10_000)) for _ in range(count)]
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda body: client.post(
                    f"{server.url}/api/notes", json={"content": body}
                ).raise_for_status(),
                bodies,
            )
        )
    posted = time.perf_counter()
    engine = make_engine(database_url)
    behind_sql = text(
        "SELECT count(*) FROM note LEFT JOIN search_note s ON s.note_id = note.id"
        " WHERE note.head > coalesce(s.position, 0)"
    )
    try:
        while True:
            with engine.connect() as connection:
                if connection.execute(behind_sql).scalar_one() == 0:
                    break
            if time.perf_counter() - posted > 120:
                raise TimeoutError("the index did not catch up within 120 s")
            time.sleep(0.05)
    finally:
        engine.dispose()
    return posted - started, time.perf_counter() - posted


def run_backend(
    name: str, database_url: str, args: argparse.Namespace, folder: Path, data: Path | None
) -> list[str]:
    # Over 40 lines: the steps of one database's run, in order, and its report.
    print(f"[search] {name}: generating {args.notes:,} notes", flush=True)
    vocabulary = Vocabulary()
    writer = Writer(vocabulary)
    engine = make_engine(database_url)
    create_schema(engine)
    started = time.perf_counter()
    made = populate(
        engine,
        writer,
        notes=args.notes,
        size=args.note_chars,
        with_history=args.with_history,
        sessions=12,
    )
    generated = time.perf_counter() - started
    started = time.perf_counter()
    done, failed = reindex(engine, SqlDocumentStore(engine), lambda i, n: None)
    indexed = time.perf_counter() - started
    # The notes are dated over the past year, so a server's first housekeeping round
    # thins nearly every one of them (minutes of work on 10,000): done here, as a
    # server running for a day would have done it, not inside the timed requests.
    started = time.perf_counter()
    thinned = thin_once(SqlDocumentStore(engine), DEFAULT_HISTORY_DAYS)
    thinning = time.perf_counter() - started
    space = into_one_space(engine)
    if engine.dialect.name == "postgresql":  # as autovacuum would soon after the writes
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    lines = [
        f"### {name} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
        "",
        f"{args.notes:,} notes, {made.chars / 1e6:.0f} MB of Markdown "
        f"({args.with_history:,} with a year of history), written in {generated:.0f} s; "
        f"indexed from the log by `reindex`'s code in {indexed:.0f} s "
        f"({done:,} notes, {failed} failed); their history older than "
        f"{DEFAULT_HISTORY_DAYS:g} days thinned ({thinned:,} notes) in {thinning:.0f} s "
        "before the server started.",
        "",
        "| query | HTTP, 500 tokens: p50 / p95 ms | server CPU ms per request"
        " | database CPU ms per request | results per request"
        " | a space of all the notes: p50 / p95 ms | its server CPU ms"
        " | its database CPU ms | its results | budget p95 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    tokens = [token for _, token in made.notes[:: max(1, len(made.notes) // TOKENS)]][:TOKENS]
    with Server(
        database_url, folder / f"{name}.log", "--max-notes-created-per-minute", "100000"
    ) as server:
        for label, asked in queries(vocabulary, writer, args.requests).items():
            before, database_before = cpu_ms(server.pid), database_cpu_ms(data)
            http_ms, found = time_http(server.url, tokens, asked)
            server_cpu = (cpu_ms(server.pid) - before) / len(asked)
            database_cpu = (database_cpu_ms(data) - database_before) / len(asked)
            before, database_before = cpu_ms(server.pid), database_cpu_ms(data)
            space_ms, in_space = time_space(server.url, space, asked)
            space_cpu = (cpu_ms(server.pid) - before) / len(asked)
            space_database = (database_cpu_ms(data) - database_before) / len(asked)
            budget = BUDGET_MS["deleted" if asked[0][1] else "search"]
            h50, h95 = percentiles(http_ms)
            s50, s95 = percentiles(space_ms)
            cells = [
                label,
                f"{h50:.1f} / {h95:.1f}",
                f"{server_cpu:.1f}",
                f"{database_cpu:.1f}" if data else "(in the server's)",
                f"{found / len(asked):.1f}",
                f"{s50:.1f} / {s95:.1f}",
                f"{space_cpu:.1f}",
                f"{space_database:.1f}" if data else "(in the server's)",
                f"{in_space / len(asked):.1f}",
                f"{budget:.0f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
            print(f"[search] {name}: {lines[-1]}", flush=True)
        post_s, catch_s = catch_up(server, database_url, writer, args.import_notes)
    lines += [
        "",
        f"Catch-up: {args.import_notes:,} notes of 10 KB posted in {post_s:.1f} s; all indexed "
        f"{catch_s:.1f} s after the last (budget {CATCH_UP_BUDGET_S:.0f} s).",
        "",
    ]
    print(f"[search] {name}: {lines[-2]}", flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--note-chars", type=int, default=10_000)
    parser.add_argument("--with-history", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--import-notes", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=None, help="write the report here (Markdown)")
    args = parser.parse_args()
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="collab-search-bench-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # PostgreSQL runs as its own user, in a folder inside
        for backend in args.backends.split(","):
            if backend == "sqlite":
                sqlite = f"sqlite:///{folder / 'notes.db'}"
                report += run_backend("SQLite", sqlite, args, folder, None)
            else:
                postgres = Postgres(folder / "pg").start()
                try:
                    database = postgres.create_database()
                    data = postgres.folder / "data"
                    report += run_backend("PostgreSQL", database, args, folder, data)
                finally:
                    postgres.stop()
    print("\n".join(report))
    if args.out is not None:
        args.out.write_text("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
