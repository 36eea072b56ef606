"""Uploading a 5 MB image, and revalidating a cached one (issue 27's budgets: 500 ms p95, 5 ms).

    .venv/bin/python bench/files_budgets.py                  # the full run, writes bench/FILES.md
    .venv/bin/python bench/files_budgets.py --uploads 5 --revalidations 50 --out tiny.md

One ``collab-notes serve --durability full`` process per database (a new SQLite
file, then a new PostgreSQL database), on 127.0.0.1, with no upload rate limit.
One client (keep-alive) uploads, one at a time, ``--uploads`` files of each kind:

- ``photo``: a 5 MB JPEG (2,600 x 2,000, from noise) with a camera name and EXIF
  GPS, each upload a different camera name, so each is new bytes that Pillow opens,
  decodes and has its location removed from (the whole path of a phone's photo);
- ``screenshot``: a 5 MB PNG (1,300 x 1,300 of noise, uncompressed), new each time.

Then it asks ``--revalidations`` times for a stored image with its ``ETag``
(``If-None-Match``): the ``304`` a browser's cached image costs; and as many times
for ``/healthz``, what any request costs this server on this machine. Times are the
client's, request sent to answer read. The report gives p50 and p95 beside the
budgets, the server process's CPU per request (user and system, from ``/proc``:
what a request costs whatever else the machine runs; PostgreSQL's own processes
are not in it) and the load average around each run.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import httpx
from PIL import Image

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import environment  # noqa: E402
from harness.backends import Postgres  # noqa: E402
from history.server import Server  # noqa: E402
from search_budgets import cpu_ms  # noqa: E402

UPLOAD_BUDGET_MS = 500.0
REVALIDATE_BUDGET_MS = 5.0
CAMERA = b"Camera 000000"  # replaced by a number per upload: new bytes each time


def photo() -> bytes:
    """A 5 MB JPEG with a camera name and where it was taken."""
    noise = random.Random(7).randbytes(2600 * 2000 * 3)
    exif = Image.Exif()
    exif[0x010F] = CAMERA.decode()
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    buffer = io.BytesIO()
    image = Image.frombytes("RGB", (2600, 2000), noise)
    image.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def screenshot(seed: int, side: int = 1300) -> bytes:
    """A PNG of noise, stored uncompressed: about 5 MB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    noise = random.Random(seed)
    rows = b"".join(b"\x00" + noise.randbytes(side * 3) for _ in range(side))
    head = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(rows, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed_upload(client: httpx.Client, token: str, data: bytes, kind: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.post(f"/api/notes/{token}/files", files={"file": ("f", data, kind)})
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text}")
    return elapsed_ms, str(response.json()["id"])


def run_backend(name: str, database_url: str, args: argparse.Namespace, folder: Path) -> list[str]:
    """Upload and revalidate on one database; the report's rows for it."""
    load_before = os.getloadavg()[0]
    base = photo()
    assert base.count(CAMERA) == 1, "the camera name must be found once to be replaced"
    rows = []
    options = ("--max-uploads-per-minute", "0", "--max-note-files-bytes", "0")
    with (
        Server(database_url, folder / f"{name}.log", *options) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        note = client.post("/api/notes", json={}).json()
        samples: dict[str, list[float]] = {"photo": [], "screenshot": []}
        cpu = dict.fromkeys(samples, 0.0)
        stored = ""
        for n in range(args.uploads):
            for kind, data, media_type in (
                ("photo", base.replace(CAMERA, f"Camera {n:06d}".encode()), "image/jpeg"),
                ("screenshot", screenshot(n), "image/png"),
            ):
                before = cpu_ms(server.pid)
                took, file = timed_upload(client, note["id"], data, media_type)
                cpu[kind] += cpu_ms(server.pid) - before
                samples[kind].append(took)
                stored = stored or file
        for kind, taken in samples.items():
            p50, p95 = percentiles(taken)
            cells = f"{p50:.0f} | {p95:.0f} | {cpu[kind] / len(taken):.0f} | {UPLOAD_BUDGET_MS:.0f}"
            rows.append(f"| {name} | upload, {kind} | {cells} |")
        address = f"/api/notes/{note['view_id']}/files/{stored}"
        etag = client.get(address).headers["etag"]
        for what, url, status, headers in (
            ("304, cached image", address, 304, {"If-None-Match": etag}),
            ("`/healthz` (the floor: HTTP and one query)", "/healthz", 200, {}),
        ):
            times = []
            before = cpu_ms(server.pid)
            for _ in range(args.revalidations):
                started = time.perf_counter()
                answer = client.get(url, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == status, answer.status_code
            per_request = (cpu_ms(server.pid) - before) / len(times)
            p50, p95 = percentiles(times)
            cells = f"{p50:.1f} | {p95:.1f} | {per_request:.1f} | {REVALIDATE_BUDGET_MS:.0f}"
            rows.append(f"| {name} | {what} | {cells} |")
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    return [f"{row[:-2]} | {load} |" for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--revalidations", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=BENCH / "FILES.md")
    args = parser.parse_args()
    machine = environment.machine()
    report = [
        "# Files: upload and revalidation budgets (issue 27)",
        "",
        "Made by `bench/files_budgets.py` (its docstring says what is measured) at "
        f"{environment.collab_notes()['commit']}, on {machine['cpu']} ({machine['cores']} "
        f"cores), {args.uploads} uploads of each kind and {args.revalidations} revalidations.",
        "",
        "| database | what | p50 ms | p95 ms | server CPU ms per request | budget p95 ms"
        " | load average |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory(prefix="collab-files-bench-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # PostgreSQL runs as its own user, in a folder inside
        for backend in args.backends.split(","):
            if backend == "sqlite":
                report += run_backend("SQLite", f"sqlite:///{folder / 'notes.db'}", args, folder)
                continue
            postgres = Postgres(folder / "pg").start()
            try:
                report += run_backend("PostgreSQL", postgres.create_database(), args, folder)
            finally:
                postgres.stop()
    print("\n".join(report))
    args.out.write_text("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
