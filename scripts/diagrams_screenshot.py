"""Remake docs/math-and-diagrams.png: a note with math and a Mermaid diagram, the
editor beside its preview.

With ``scripts/screenshots.py``'s server, makes the note through the REST API,
waits in Debian's Chromium until the formula is typeset and the diagram drawn, and
saves the page reduced to 64 colours.

    .venv/bin/python scripts/diagrams_screenshot.py [--out docs/math-and-diagrams.png]
"""

from __future__ import annotations

import sys

import httpx
from playwright.sync_api import ViewportSize, expect, sync_playwright
from screenshots import CHROMIUM, CHROMIUM_ARGS, remake

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
    return remake(__doc__, "math-and-diagrams.png", shoot)


if __name__ == "__main__":
    sys.exit(main())
