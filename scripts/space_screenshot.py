"""Remake docs/space-search.png: a space's page with the results of a search.

Fills a space with a few notes through the REST API, searches it from its page in
Debian's Chromium, and saves the page (``scripts/screenshots.py`` does the rest).

    .venv/bin/python scripts/space_screenshot.py [--out docs/space-search.png]
"""

from __future__ import annotations

import sys
import time

import httpx
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright
from screenshots import CHROMIUM, CHROMIUM_ARGS, remake

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


def main() -> int:
    return remake(__doc__, "space-search.png", lambda url: shoot(url, fill_space(url)))


if __name__ == "__main__":
    sys.exit(main())
