"""A note with 50 images opens, all of them loaded, in under 2 s (issue 27's budget).

    .venv/bin/python bench/files_page_budget.py                # 5 runs, writes a row to stdout
    .venv/bin/python bench/files_page_budget.py --runs 2 --images 10

One ``collab-notes serve --durability full`` process on a new SQLite file, on
127.0.0.1, with no upload rate or total limit. ``--images`` different PNGs of noise
(260 x 260, stored uncompressed: 203 KB each) are uploaded through
``POST /api/notes/{edit token}/files`` into a note whose text holds their Markdown,
one image a paragraph.

Each run opens the note's edit link in a new context of Debian's Chromium
(``/usr/bin/chromium``, the flags of ``tests/browser``; 1280 x 800): no HTTP cache,
no service worker (cold), then navigates to it again in the same context (warm:
the HTTP cache and the service worker's copy of the files). The time is from the
navigation's start (``performance.timeOrigin``) to the moment every image of the
preview is ``complete`` with ``naturalWidth > 0``. The preview loads images below
the fold only when scrolled to (``loading="lazy"``), so once the first screen's
images are loaded (timed too) the bench makes every image ``loading="eager"``, as
the page itself does before printing, and waits for all of them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from files_budgets import screenshot  # noqa: E402
from history.server import Server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BUDGET_MS = 2000.0

# The time since the navigation started once the images asked for are all loaded.
LOADED_JS = """([count, onScreen]) => {
  const images = [...document.querySelectorAll('#preview img')]
  if (images.length < count) return null
  // All of them: made eager, as the page does before printing (the preview may redraw).
  if (!onScreen) for (const img of images) img.loading = 'eager'
  const seen = onScreen
    ? images.filter((img) => img.getBoundingClientRect().top < window.innerHeight)
    : images
  if (!seen.every((img) => img.complete && img.naturalWidth > 0)) return null
  return performance.now()
}"""


def make_note(client: httpx.Client, count: int) -> str:
    """A note whose text shows ``count`` uploaded images; its edit address."""
    images = [screenshot(n, side=260) for n in range(count)]
    ids = [hashlib.sha256(data).hexdigest() for data in images]
    text = "# Fifty images\n\n" + "".join(f"![{n}](attachment:{i})\n\n" for n, i in enumerate(ids))
    note = client.post("/api/notes", json={"content": text}).json()
    for data, expected in zip(images, ids, strict=True):
        response = client.post(
            f"/api/notes/{note['id']}/files", files={"file": ("i.png", data, "image/png")}
        )
        assert response.status_code == 201, response.text
        assert response.json()["id"] == expected, "the server changed the bytes"
    return str(note["url"])


def opened_ms(page: Page, url: str, count: int) -> tuple[float, float]:
    """Navigate to ``url``: ms until the first screen's images, then all, are loaded."""
    page.goto(url, wait_until="commit")
    first = page.wait_for_function(LOADED_JS, arg=[count, True], timeout=60_000).json_value()
    every = page.wait_for_function(LOADED_JS, arg=[count, False], timeout=60_000).json_value()
    return float(first), float(every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=50)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    samples: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="collab-files-page-") as tmp:
        folder = Path(tmp)
        options = ("--max-uploads-per-minute", "0", "--max-note-files-bytes", "0")
        with (
            Server(f"sqlite:///{folder / 'notes.db'}", folder / "server.log", *options) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
            sync_playwright() as playwright,
        ):
            url = server.url + make_note(client, args.images)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                samples["cold"].append(opened_ms(page, url, args.images))
                page.wait_for_function("() => navigator.serviceWorker.controller !== null")
                samples["warm"].append(opened_ms(page, url, args.images))
                context.close()
            browser.close()
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    for cache, taken in samples.items():
        first = statistics.median(t[0] for t in taken)
        every = statistics.median(t[1] for t in taken)
        runs = ", ".join(f"{t[1]:.0f}" for t in taken)
        print(
            f"| {cache} | {args.images} | {first:.0f} | {every:.0f} | {runs} "
            f"| {BUDGET_MS:.0f} | {load} |"
        )


if __name__ == "__main__":
    main()
