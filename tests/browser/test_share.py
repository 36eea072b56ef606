"""The share dialog: links with copy buttons, and replacing a link that leaked."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.notepage import NoteTab, PersonFactory
from browser.test_comments import select_word
from playwright.sync_api import Locator, expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser


def open_share(tab: NoteTab) -> Locator:
    tab.page.locator("#share-open").click()
    dialog = tab.page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    return dialog


def replace_link(dialog: Locator, which: str) -> None:
    section = dialog.locator(f'[data-rotate="{which}"]')
    section.locator("[data-ask]").click()
    section.locator("[data-confirm]").click()


def test_the_share_dialog_offers_the_links_to_copy_and_replaces_the_comment_link(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Share me\n")
    profile = person("Ana")
    profile.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ana = profile.open(shared_server.url + note["url"]).wait_ready()

    dialog = open_share(ana)
    expect(dialog.locator("#edit-link")).to_have_value(shared_server.url + note["url"])
    expect(dialog.locator("#view-link")).to_have_value(shared_server.url + note["view_url"])
    expect(dialog).to_contain_text("can read and change the note")
    expect(dialog).to_contain_text("cannot change it")

    dialog.locator('[data-copy="view"]').click()
    expect(dialog.locator('[data-copy="view"]')).to_have_text("Copied")
    assert (
        ana.page.evaluate("() => navigator.clipboard.readText()")
        == shared_server.url + note["view_url"]
    )

    expect(dialog.locator("#comment-link")).to_have_value(shared_server.url + note["comment_url"])
    replace_link(dialog, "comment")
    expect(dialog.locator("#comment-link")).not_to_have_value(
        shared_server.url + note["comment_url"]
    )
    assert shared_server.get_note(note["comment_id"]).status_code == 404

    ana.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_replacing_the_edit_link_moves_this_page_and_locks_out_the_old_one(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Leaked\n")
    old_url = shared_server.url + note["url"]
    ana = person("Ana").open(old_url).wait_ready()
    ben = person("Ben").open(old_url).wait_ready()

    replace_link(open_share(ana), "edit")
    expect(ana.page).not_to_have_url(old_url)
    new_token = ana.page.url.rsplit("/n/", 1)[1]
    expect(ana.page.locator("#edit-link")).to_have_value(ana.page.url)

    # Ben's link stopped working: he is told, and his editor no longer takes input.
    expect(ben.page.locator("#banner")).to_contain_text("This link no longer works")
    expect(ben.editor).to_have_attribute("contenteditable", "false")
    expect(ben.connection).to_have_attribute("data-state", "closed")

    ana.page.keyboard.press("Escape")
    ana.wait_ready()
    ana.type("Still editing.")
    ana.wait_saved()
    assert shared_server.get_note(note["id"]).status_code == 404
    assert shared_server.get_note(new_token).json()["content"].endswith("Still editing.")
    expect(ana.page.locator("#download")).to_have_attribute(
        "href", f"/api/notes/{new_token}/export.md"
    )
    expect(ana.page.locator("#download-comments")).to_have_attribute(
        "href", f"/api/notes/{new_token}/export.md?comments=footnotes"
    )
    # Comments go through the new link too (they went to the old one: 404).
    select_word(ana, "Leaked")
    ana.page.keyboard.press("Control+Alt+m")
    ana.page.keyboard.type("Who leaked it?")
    ana.page.locator("#comments .comment-new [type=submit]").click()
    expect(ana.page.locator("#comments .thread .thread-quote")).to_have_text("Leaked")


def test_replacing_the_view_link_closes_the_old_view_link(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Private now\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()

    dialog = open_share(ana)
    replace_link(dialog, "view")
    expect(dialog.locator("#view-link")).not_to_have_value(shared_server.url + note["view_url"])
    expect(vic.page.locator("#banner")).to_contain_text("This link no longer works")

    new_view_url = dialog.locator("#view-link").input_value()
    expect(ana.connection).to_have_attribute("data-state", "online")  # Ana's link still works
    vic2 = person("Vic").open(new_view_url).wait_ready()
    expect(vic2.preview).to_contain_text("Private now")


def test_an_unknown_link_shows_a_friendly_page(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    profile = person("Ana")
    page = profile.context.new_page()
    response = page.goto(shared_server.url + "/n/no-such-note")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("This note does not exist")


def test_after_a_link_replacement_the_banner_closes_and_download_uses_the_copy_in_memory(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Kept\n\nEvery word.\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    replace_link(open_share(ana), "edit")
    banner = ben.page.locator("#banner")
    expect(banner).to_contain_text("This link no longer works")

    banner.get_by_role("button", name="Close").click()
    expect(banner).to_be_hidden()
    expect(ben.connection).to_have_attribute("data-state", "closed")
    ben.page.locator("#menu-open").click()
    with ben.page.expect_download() as download:
        ben.page.get_by_role("link", name="Download as Markdown").click()
    saved = download.value
    assert saved.failure() is None
    assert Path(saved.path()).read_text(encoding="utf-8") == "# Kept\n\nEvery word.\n"
    assert saved.suggested_filename == "Kept.md"
