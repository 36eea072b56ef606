"""Remake docs/math-and-diagrams.png: a note with math and a Mermaid diagram, the
editor beside its preview.

Starts ``collab-notes serve`` over a fresh SQLite file in a temporary folder, as
scripts/space_screenshot.py does (and with its helpers), makes the note through the
REST API, waits in Debian's Chromium until the formula is typeset and the diagram
drawn, and saves the page reduced to 64 colours.

    .venv/bin/python scripts/diagrams_screenshot.py [--out docs/math-and-diagrams.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import ViewportSize, expect, sync_playwright
from space_screenshot import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAX_BYTES,
    ROOT,
    free_port,
    reduce,
    wait_healthy,
)

VIEWPORT: ViewportSize = {"width": 1100, "height": 640}
NOTE = """# Release flow

Each step waits for the one before; a release of $n$ changes takes

$$
t = t_0 + \\sum_{i=1}^{n} r_i
$$

```mermaid
flowchart LR
  A[Pull request] --> B{Tests pass?}
  B -- yes --> C[Merge]
  B -- no --> A
  C --> D[Release]
```
"""

IDENTITY = (
    "localStorage.setItem('collab-notes:identity', JSON.stringify({name: 'Ana', color: '#e02939'}))"
)


def shoot(url: str) -> bytes:
    note = httpx.post(url + "/api/notes", json={"content": NOTE}).raise_for_status().json()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.add_init_script(IDENTITY)  # a fixed name and colour, not a random one
        page.goto(url + note["url"])
        preview = page.locator("#preview")
        expect(preview.locator(".math-display math")).to_have_count(1, timeout=20_000)
        expect(preview.locator(".diagram svg")).to_have_count(1, timeout=20_000)
        page.locator("#editor .cm-content").blur()
        shot = page.screenshot(caret="hide", animations="disabled")
        browser.close()
    return shot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "math-and-diagrams.png")
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
                png = reduce(shoot(url))
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
