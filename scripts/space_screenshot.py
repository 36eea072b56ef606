"""Remake docs/space-search.png: a space's page with the results of a search.

Starts ``collab-notes serve`` on a free port over a fresh SQLite file in a
temporary folder, fills a space with a few notes through the REST API, searches
it from its page in Debian's Chromium (driven by Playwright, as the browser tests
do), and saves the page reduced to 64 colours with Pillow, so that it stays small.

    .venv/bin/python scripts/space_screenshot.py [--out docs/space-search.png]
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT: ViewportSize = {"width": 1100, "height": 760}
QUERY = "launch"
NOTES = [
    "# Launch checklist #launch\n\n- [x] Press kit ready\n- [ ] Pricing page reviewed\n"
    "- [ ] Status page and on-call rota\n\nThe launch date holds if the pricing review is "
    "done by Thursday.\n",
    "# Weekly sync, 3 December #weekly\n\nAttendees: Ana, Ben, Cat\n\n- Launch moved to the "
    "14th: the payment provider needs one more day.\n- Cat owns the status page.\n",
    "---\ntags: [research]\n---\n# Interview: Dana, support lead\n\nCustomers ask whether "
    "the launch includes exports; most want a .zip of Markdown files.\n",
    "# Pricing ideas #pricing\n\nThree plans; the team plan launches with spaces and search.\n",
    "# Retro of the beta #retro\n\nWent well: the invite flow. To change: fewer surprises "
    "on launch day, and a dry run the week before.\n",
    "# Onboarding #template\n\n## First day\n\n- Accounts\n- Read the handbook\n",
]
SAVED_COLOURS = 64
MAX_BYTES = 150_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"collab-notes serve exited with {server.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the server was not healthy within {timeout_s} s")


def fill_space(url: str) -> str:
    """A space holding ``NOTES``; its edit link's path."""
    space = httpx.post(url + "/api/spaces", json={"name": "Product team"}).raise_for_status()
    token = space.json()["id"]
    for text in NOTES:
        httpx.post(f"{url}/api/spaces/{token}/notes", json={"content": text}).raise_for_status()
    return str(space.json()["url"])


def search(page: Page, query: str, timeout_s: float = 10) -> None:
    """Search until every note holding ``query`` is found (the index follows within 2 s)."""
    wanted = f"{sum(query in text.lower() for text in NOTES)} found"
    box = page.get_by_role("searchbox", name="Search the notes of this space")
    deadline = time.monotonic() + timeout_s
    while True:
        box.fill("")
        box.fill(query)
        expect(page.locator("#search-results")).not_to_have_attribute("aria-busy", "true")
        if page.locator("#search-state").inner_text() == wanted:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"searching {query!r} never said {wanted!r}")
        time.sleep(0.2)


def shoot(url: str, space_path: str) -> bytes:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url + space_path)
        expect(page.locator("#space-notes .space-note")).to_have_count(len(NOTES))
        search(page, QUERY)
        page.locator("#search").blur()
        shot = page.screenshot(caret="hide", animations="disabled")
        browser.close()
    return shot


def reduce(png: bytes) -> bytes:
    """The screenshot in ``SAVED_COLOURS`` colours, without dithering (flat UI colours)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    few = image.quantize(SAVED_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    few.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "space-search.png")
    out: Path = parser.parse_args().out
    serve = Path(sys.executable).with_name("collab-notes")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        database = f"sqlite:///{Path(folder) / 'notes.db'}"
        command = [str(serve), "serve", "--port", str(port), "--database-url", database]
        with open(Path(folder) / "server.log", "wb") as log:
            server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(url, server)
                png = reduce(shoot(url, fill_space(url)))
            finally:
                server.terminate()
                server.wait(timeout=30)
    out.write_bytes(png)
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {len(png):,} bytes")
    if len(png) > MAX_BYTES:
        print(f"over {MAX_BYTES:,} bytes: keep it smaller (fewer colours, a smaller viewport)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
