"""A space's list and import against their budgets (issue 26), on a real server.

    .venv/bin/python bench/space_budgets.py                      # 10,000 notes, SQLite
    .venv/bin/python bench/space_budgets.py --database-url postgresql+psycopg://...
    .venv/bin/python bench/space_budgets.py --notes 200 --import-files 20 --json out.json

The budgets: in a space of 10,000 notes (about 10 KB of Markdown each, 100 MB
in all), the first page of its list answers in < 30 ms; an import of a
1,000-file archive of 10 MB takes < 30 s.

How the space is made. The notes are written before the server starts, in one
transaction through SQLAlchemy Core: each note's row with the title, excerpt
and tags ``storage.summaries`` makes of its text, and its first update in the
log (the Yjs update of its text), as ``POST /api/spaces/{token}/notes`` would
leave them; then their search index, by ``collab-notes reindex``'s code. What
is timed: a ``collab-notes serve`` process on that database, asked over HTTP
from the same machine (one kept-alive connection): the first page by last edit
and by title, the second page (a cursor), a tag's notes, and the same first
page answered ``304`` to ``If-None-Match``; then the import of a fresh archive
into a second space, its wall time.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlmodel import Session

from collab.document import initial_update
from storage import spaces, summaries
from storage.db import create_schema, make_engine
from storage.models import utcnow
from storage.sql import LOG, NOTE
from storage.updates import SqlDocumentStore
from web.searchindex import reindex

WORDS = [
    "the",
    "plan",
    "for",
    "next",
    "week",
    "is",
    "to",
    "ship",
    "the",
    "new",
    "editor",
    "and",
    "review",
    "the",
    "budget",
    "with",
    "the",
    "team",
    "before",
    "the",
    "meeting",
    "on",
    "friday",
    "we",
    "agreed",
    "that",
    "design",
    "owns",
    "the",
    "roadmap",
    "and",
    "ops",
    "owns",
    "the",
    "release",
    "notes",
]
TAGS = ["plan", "ops", "design", "meeting", "roadmap", "budget", "review", "idea", "todo"]


def markdown(rng: random.Random, number: int, chars: int) -> str:
    """A note of about ``chars`` characters: a heading, paragraphs, a list, tags."""
    parts = [f"# Note {number}: {' '.join(rng.choices(WORDS, k=4))}\n"]
    size = len(parts[0])
    while size < chars:
        if rng.random() < 0.2:
            block = "".join(f"- {' '.join(rng.choices(WORDS, k=6))}\n" for _ in range(4))
        else:
            block = " ".join(rng.choices(WORDS, k=60)) + "\n"
        if rng.random() < 0.1:
            block += f"#{rng.choice(TAGS)}\n"
        parts.append("\n" + block)
        size += len(block) + 1
    return "".join(parts)


def seed(url: str, notes: int, chars: int) -> tuple[str, int, float]:
    """A space holding ``notes`` notes, their search index built; returns its edit
    token, the text's size and the seconds the index took.

    Indexed before the server starts, as a server that has run a while has them:
    started on 10,000 notes it had not indexed, the server's indexer spent minutes
    catching up (``reindex``: 96 s on SQLite, 228 s on PostgreSQL, bench/SEARCH.md),
    all through the timed requests, and every page waited on it for the GIL.
    """
    rng = random.Random(26)
    engine = make_engine(url)
    create_schema(engine)
    with Session(engine, expire_on_commit=False) as session:
        space = spaces.create_space(session=session, name="Benchmark")
    total = 0
    with engine.begin() as connection:
        for first in range(0, notes, 1000):
            texts = [markdown(rng, n, chars) for n in range(first, min(first + 1000, notes))]
            total += sum(len(text) for text in texts)
            _insert(connection, space.id, texts, rng)
    started = time.perf_counter()
    done, failed = reindex(engine, SqlDocumentStore(engine), lambda done, total: None)
    indexed = time.perf_counter() - started
    assert (done, failed) == (notes, 0), (done, failed)
    if engine.dialect.name == "postgresql":
        # As autovacuum would soon after: planned on the empty tables' statistics, the
        # first page and the tag counts took 23-32 and 25 ms, against 15 and 9.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return space.edit_token, total, indexed


def _insert(connection: Any, space_id: int | None, texts: list[str], rng: random.Random) -> None:
    now = utcnow()
    made = [summaries.summarise(text) for text in texts]
    rows = []
    for summary in made:
        moment = now.replace(second=rng.randrange(60), microsecond=rng.randrange(10**6))
        rows.append(
            {
                "edit_token": f"e{rng.getrandbits(96):x}",
                "view_token": f"v{rng.getrandbits(96):x}",
                "comment_token": f"c{rng.getrandbits(96):x}",
                "created_at": moment,
                "updated_at": moment,
                "edited_at": moment,
                "head": 1,
                "space_id": space_id,
                "title": summary.title,
                "excerpt": summary.excerpt,
                "summary_head": 1,
            }
        )
    ids = connection.execute(insert(NOTE).returning(NOTE.c.id), rows).scalars().all()
    logged = [
        {"note_id": note, "position": 1, "data": initial_update(text), "committed_at": now}
        for note, text in zip(ids, texts, strict=True)
    ]
    connection.execute(insert(LOG), logged)
    tags = [
        {"note_id": note, "tag": tag, "space_id": space_id}
        for note, summary in zip(ids, made, strict=True)
        for tag in summary.tags
    ]
    if tags:
        connection.execute(insert(summaries.NOTE_TAG), tags)
        if space_id is not None:  # the space's kept counts, as storage.summaries.save keeps them
            summaries.count_tags(connection, Counter((space_id, row["tag"]) for row in tags))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "web.cli", "serve", "--database-url", url]
    command += [
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--max-notes-created-per-minute",
        "0",
    ]
    server = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def timed(client: httpx.Client, path: str, repeat: int, **headers: str) -> dict[str, float]:
    """p50, p95 and the least of ``repeat`` requests, in ms (after one untimed warm-up).

    On a busy machine the least is the nearest to what the request itself costs."""
    client.get(path, headers=headers)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 304), response.text
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    return {"p50_ms": statistics.median(times), "p95_ms": p95, "min_ms": times[0]}


def archive(files: int, chars: int) -> bytes:
    rng = random.Random(1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as made:
        for n in range(files):
            made.writestr(f"vault/note {n}.md", markdown(rng, n, chars))
    return buffer.getvalue()


def measure(base: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every figure, over HTTP."""
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        first = client.get(f"/api/spaces/{token}").json()
        assert first["tags"], "the space's notes have tags: its list must count them"
        etag = client.get(f"/api/spaces/{token}").headers["etag"]
        listing = f"/api/spaces/{token}"
        figures["/healthz (the floor)"] = timed(client, "/healthz", args.repeat)
        figures["first page"] = timed(client, listing, args.repeat)
        figures["first page by title"] = timed(client, listing + "?sort=title", args.repeat)
        figures["second page"] = timed(client, f"{listing}?after={first['next']}", args.repeat)
        figures["a tag's notes"] = timed(client, listing + "?tag=plan", args.repeat)
        figures["first page, 304"] = timed(client, listing, args.repeat, **{"If-None-Match": etag})
        other = client.post("/api/spaces", json={"name": "Import"}).json()["id"]
        body = archive(args.import_files, args.chars)
        start = time.perf_counter()
        response = client.post(f"/api/spaces/{other}/import", content=body)
        elapsed = time.perf_counter() - start
        assert response.status_code == 201, response.text
        imported = len(response.json()["imported"])
        figures["import"] = {"files": imported, "bytes": len(body), "seconds": elapsed}
    return figures


def report(figures: dict[str, Any], notes: int, size: int, url: str) -> str:
    lines = [
        f"Space of {notes} notes, {size / 1e6:.1f} MB of Markdown, on {url.split(':')[0]}.",
        "",
        "| request | p50 ms | p95 ms | min ms |",
        "| --- | --- | --- | --- |",
    ]
    for name, figure in figures.items():
        if name != "import":
            p50, p95, least = figure["p50_ms"], figure["p95_ms"], figure["min_ms"]
            lines.append(f"| {name} | {p50:.1f} | {p95:.1f} | {least:.1f} |")
    done = figures["import"]
    lines += [
        "",
        f"Import of {done['files']} files ({done['bytes'] / 1e6:.1f} MB zipped): "
        f"{done['seconds']:.1f} s.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=10_000, help="characters per note")
    parser.add_argument("--import-files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'notes.db'}"
        token, size, indexed = seed(url, args.notes, args.chars)
        server, base = serve(url)
        try:
            figures = measure(base, token, args)
        finally:
            server.terminate()
            server.wait(30)
    print(report(figures, args.notes, size, url))
    print(f"(Its search index built before the server started, in {indexed:.0f} s.)")
    if args.json:
        args.json.write_text(json.dumps({**figures, "index_seconds": indexed}, indent=2))


if __name__ == "__main__":
    main()
