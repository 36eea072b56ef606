"""The home page starts notes and lists the ones this browser opened; titles follow the text."""

from __future__ import annotations

import re

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

NOTE_URL = re.compile(r".*/n/[A-Za-z0-9_-]+$")


def test_new_note_opens_an_empty_note_and_home_lists_notes_newest_first(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    profile = person("Ana")
    page = profile.context.new_page()
    page.goto(shared_server.url + "/")
    expect(page.locator("#recent-empty")).to_be_visible()

    for title in ("Groceries", "Holiday ideas"):
        page.goto(shared_server.url + "/")
        page.get_by_role("button", name="New note").click()
        expect(page).to_have_url(NOTE_URL)
        tab = NoteTab(page).wait_ready()
        assert tab.text() == ""
        tab.type(f"# {title}\n")
        expect(page).to_have_title(f"{title} · collab-notes")
        tab.wait_saved()

    page.goto(shared_server.url + "/")
    expect(page.locator("#recent .recent-note a")).to_have_text(["Holiday ideas", "Groceries"])
    page.locator("#recent .recent-note a", has_text="Groceries").click()
    NoteTab(page).wait_ready().wait_text("# Groceries")

    page.goto(shared_server.url + "/")
    page.get_by_role("button", name="Forget “Groceries” on this device").click()
    expect(page.locator("#recent .recent-note a")).to_have_text(["Holiday ideas"])


def test_the_page_title_follows_the_notes_first_line_live(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("\n\n## Draft  \nbody")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["view_url"]).wait_ready()
    expect(ana.page).to_have_title("Draft · collab-notes")

    ana.editor.click()
    ana.page.keyboard.press("Control+Home")
    ana.page.keyboard.type("Final report")
    expect(ana.page).to_have_title("Final report · collab-notes")
    expect(ben.page).to_have_title("Final report · collab-notes")
    expect(ana.page.locator("#note-title")).to_have_text("Final report")
