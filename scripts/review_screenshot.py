"""Remake docs/review-together.png: a note written by two people, the Authors colours
on, and a comment on its text in the side panel.

With ``scripts/screenshots.py``'s server, Ana and Ben each type a
line in Debian's Chromium (two browser contexts, two names); Ben comments on a word
through the REST API; Ana's page, with Authors on and the comments open, is saved
reduced to 64 colours.

    .venv/bin/python scripts/review_screenshot.py [--out docs/review-together.png]
"""

from __future__ import annotations

import json
import sys

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
from screenshots import CHROMIUM, CHROMIUM_ARGS, remake

VIEWPORT: ViewportSize = {"width": 1100, "height": 560}
NOTE = "# Launch plan\n\n"
ANA = "We ship the beta on Friday; the budget is approved.\n"
BEN = "Ben writes the release notes and the announcement.\n"
COMMENT = "Which budget: the one of March or the new one?"


def person(browser: Browser, url: str, name: str, color: str) -> Page:
    """A page of its own browser context, with a fixed name and colour."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    identity = json.dumps({"name": name, "color": color})
    page.add_init_script(f"localStorage.setItem('collab-notes:identity', {identity!r})")
    page.goto(url)
    expect(page.locator("#editor .cm-content")).to_contain_text("Launch plan", timeout=20_000)
    return page


def type_line(page: Page, text: str) -> None:
    page.locator("#editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=20_000)


def shoot(url: str) -> bytes:
    note = httpx.post(url + "/api/notes", json={"content": NOTE}).raise_for_status().json()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ana = person(browser, url + note["url"], "Ana", "#e02939")
        ben = person(browser, url + note["url"], "Ben", "#1b79bd")
        type_line(ana, ANA)
        expect(ben.locator("#editor .cm-content")).to_contain_text(ANA.strip(), timeout=20_000)
        type_line(ben, BEN)
        text = NOTE + ANA + BEN
        start = text.index("budget")
        body = {"body": COMMENT, "from": start, "to": start + len("budget"), "author": "Ben"}
        comments = f"{url}/api/notes/{note['id']}/comments"
        httpx.post(comments, json=body).raise_for_status()
        expect(ana.locator("#editor .cm-comment")).to_have_text("budget", timeout=20_000)
        ana.locator("#authors-toggle").click()
        expect(ana.locator("#authors-legend li")).to_have_count(3, timeout=20_000)  # and "earlier"
        ana.locator("#comments-open").click()
        expect(ana.locator("#comments .thread")).to_have_count(1)
        ana.locator("#editor .cm-content").blur()
        expect(ana.get_by_text("Ben joined")).to_be_hidden(timeout=20_000)  # the toast
        shot = ana.screenshot(caret="hide", animations="disabled")
        browser.close()
    return shot


def main() -> int:
    return remake(__doc__, "review-together.png", shoot)


if __name__ == "__main__":
    sys.exit(main())
