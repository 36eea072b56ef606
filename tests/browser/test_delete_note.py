"""Deleting a note from its page: asked first, every page told, and undone within the window."""

from __future__ import annotations

import pytest
from browser.notepage import PersonFactory
from playwright.sync_api import expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser


def test_deleting_asks_first_closes_every_page_and_can_be_undone(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Doomed plans\n\nStill here.\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()
    expect(vic.page.locator("[data-delete]")).to_have_count(0)  # viewers cannot delete

    ana.page.locator("#menu-open").click()
    ana.page.get_by_role("button", name="Delete note…").click()
    dialog = ana.page.locator("#delete-dialog")
    expect(dialog).to_contain_text("Delete “Doomed plans”?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert shared_server.get_note(note["id"]).status_code == 200

    ana.page.locator("#menu-open").click()
    ana.page.get_by_role("button", name="Delete note…").click()
    dialog.get_by_role("button", name="Delete note").click()
    for tab in (ana, ben, vic):
        expect(tab.page.locator("#banner")).to_contain_text("This note was deleted")
        expect(tab.connection).to_have_attribute("data-state", "closed")
    expect(ben.editor).to_have_attribute("contenteditable", "false")
    expect(vic.page.locator("[data-undo]")).to_be_hidden()
    assert shared_server.get_note(note["id"]).status_code == 404

    ben.page.locator("#banner").get_by_role("button", name="Undo delete").click()
    ben.wait_ready()
    expect(ben.page.locator("#banner")).to_be_hidden()
    ben.type(" Back.")
    ben.wait_saved()
    assert shared_server.get_note(note["id"]).json()["content"].endswith("Still here.\n Back.")


def test_a_deleted_note_is_marked_on_the_home_list_and_restored_from_there(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Old list\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.page.locator("#menu-open").click()
    ana.page.get_by_role("button", name="Delete note…").click()
    ana.page.locator("#delete-dialog").get_by_role("button", name="Delete note").click()
    expect(ana.page.locator("#banner")).to_contain_text("This note was deleted")

    # Its link now opens a page that says so, with a way back.
    reopened = ana.page.context.new_page()
    response = reopened.goto(shared_server.url + note["url"])
    assert response is not None and response.status == 404
    expect(reopened.locator("h1")).to_have_text("This note was deleted")
    reopened.close()

    ana.page.goto(shared_server.url + "/")
    entry = ana.page.locator(".recent-note", has_text="Old list")
    expect(entry).to_contain_text("deleted")
    entry.get_by_role("button", name="Restore “Old list”").click()
    expect(ana.page.locator("#home-notice")).to_contain_text("“Old list” is restored.")
    expect(entry).not_to_contain_text("deleted")
    assert shared_server.get_note(note["id"]).json()["title"] == "Old list"


def test_an_open_page_learns_that_someone_restored_the_deleted_note(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Phoenix\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    ana.page.locator("#menu-open").click()
    ana.page.get_by_role("button", name="Delete note…").click()
    ana.page.locator("#delete-dialog").get_by_role("button", name="Delete note").click()
    expect(ben.page.locator("#banner")).to_contain_text("This note was deleted")

    restored = http.post(f"{shared_server.url}/api/notes/{note['id']}/undelete", timeout=10)
    assert restored.status_code == 200
    expect(ben.page.locator("#banner")).to_be_hidden(timeout=15_000)
    ben.wait_ready()
    expect(ben.toasts.filter(has_text="Someone restored this note.")).to_have_count(1)
    ben.type(" Risen.")
    ben.wait_saved()
    assert shared_server.get_note(note["id"]).json()["content"].endswith(" Risen.")
